//! Prints `src/arch/syscall_table.rs`, the syscall numbers of every architecture as this
//! libseccomp resolves them (see the file's header).
fn main() {
    print!("{}", oci_seccomp::arch::render_syscall_table());
}
