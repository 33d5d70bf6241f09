//! Times the parser of each file given on the command line (100 rounds).

use std::time::Instant;
use zerotrace_inventory::FileType;
use zerotrace_inventory::parsers::{ParseInput, parse};

fn main() {
    for arg in std::env::args().skip(1) {
        let path = std::path::PathBuf::from(&arg);
        let Ok(contents) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let file_type = FileType::detect(name);
        let started = Instant::now();
        let mut n = 0;
        for _ in 0..100 {
            n = parse(file_type, &ParseInput::new(&contents, &path, "x"))
                .map(|p| p.packages.len())
                .unwrap_or(0);
        }
        println!(
            "{name}: {n} packages, {} bytes, {:.1} us per parse",
            contents.len(),
            started.elapsed().as_secs_f64() * 1e4
        );
    }
}
