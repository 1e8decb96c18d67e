//! `Launcher::run` forks only in a single-threaded process, and says so otherwise.
//!
//! No libtest harness (`harness = false`): libtest runs each test in a thread of its own,
//! so this `main` is the only way to call `run` from a single-threaded test process.

use oci_seccomp_runtime::{Exit, LaunchError, LaunchOptions, LaunchPlan, Launcher};

fn launcher() -> Launcher {
    let plan = LaunchPlan::from_command(None, &LaunchOptions::command(vec!["/bin/true".into()]))
        .expect("a plan for /bin/true");
    Launcher::new(plan, None, None).expect("a launcher")
}

/// A single-threaded process launches; one with another thread is refused before
/// anything is forked, with the threads counted.
fn run_forks_only_in_a_single_threaded_process() {
    let exit = launcher().run().expect("single-threaded: launched");
    assert_eq!(exit, Exit::Code(0));

    let (stop, parked) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        let _ = parked.recv();
    });
    match launcher().run() {
        Err(e @ LaunchError::MultiThreaded { threads: 2 }) => {
            let text = e.to_string();
            assert!(text.contains("2 threads"), "{text}");
            assert!(text.contains("single-threaded"), "{text}");
            assert!(e
                .hint()
                .is_some_and(|h| h.contains("before starting threads")));
        }
        other => panic!("with two threads: {other:?}"),
    }
    drop(stop);
    other.join().unwrap();
}

/// The test's name, for the libtest listing protocol cargo-nextest speaks.
const NAME: &str = "run_forks_only_in_a_single_threaded_process";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // `--list --ignored` lists the ignored tests: there are none.
        if !args.iter().any(|a| a == "--ignored") {
            println!("{NAME}: test");
        }
        return;
    }
    // A filter that does not name this test selects nothing.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        println!("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out");
        return;
    }
    run_forks_only_in_a_single_threaded_process();
    println!("test {NAME} ... ok");
    println!("\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
}
