//! The `rosync` command-line tool; all logic lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    rosync::cli::main()
}
