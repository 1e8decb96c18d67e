//! The `oci-seccomp` command.

fn main() {
    println!("oci-seccomp {}", env!("CARGO_PKG_VERSION"));
}
