//! Scans a directory and prints a summary: `cargo run --release -p
//! zerotrace-inventory --example scan -- DIR [--json] [--no-gitignore] [--include=GLOB]`.

use std::time::Instant;
use zerotrace_inventory::{Progress, WalkOptions, scan};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: scan DIR [--json] [--no-gitignore] [--include=GLOB]...");
        std::process::exit(64);
    };
    let include = args
        .iter()
        .filter_map(|a| a.strip_prefix("--include="))
        .map(str::to_string)
        .collect();
    let options = WalkOptions {
        include,
        respect_gitignore: !args.iter().any(|a| a == "--no-gitignore"),
        ..WalkOptions::default()
    };
    let started = Instant::now();
    match scan(std::path::Path::new(root), &options, &Progress::default(), None) {
        Ok(inventory) if args.iter().any(|a| a == "--json") => match serde_json::to_string(&inventory) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("{e}"),
        },
        Ok(inventory) => println!(
            "{} files, {} lockfiles, {} packages, {} errors in {:.3}s",
            inventory.files_walked,
            inventory.lockfiles,
            inventory.packages.len(),
            inventory.errors.len(),
            started.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
