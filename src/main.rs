//! `kvpt` command line: parse, init tracing, dispatch.

use clap::Parser;

/// mimalloc: measurably faster than the system allocator for many small, short-lived
/// allocations per request (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = kvpt::cli::Cli::parse();
    kvpt::cli::init_tracing();
    match kvpt::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line, the chain of causes joined: what went wrong and why.
            eprintln!("kvpt: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
