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

fn main() {
    run_forks_only_in_a_single_threaded_process();
    println!("test run_forks_only_in_a_single_threaded_process ... ok");
}
