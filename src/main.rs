//! `kvpt` command line: parse, init tracing, dispatch.

use clap::Parser;

/// mimalloc: measurably faster than the system allocator for many small, short-lived
/// allocations per request (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = kvpt::config::Cli::parse();
    kvpt::config::init_tracing();
    match kvpt::config::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line, the chain of causes joined: what went wrong and why.
            eprintln!("kvpt: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
