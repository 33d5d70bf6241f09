//! The requirements parser with its `-r`/`-c` includes, in a tree that
//! holds a few files and sits beside a file it must never read: no package
//! of that outside file is ever reported (unless the input names it itself).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use zerotrace_inventory::FileType;
use zerotrace_inventory::parsers::{ParseInput, parse};

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().join("tree");
        std::fs::create_dir_all(root.join("sub")).expect("the tree");
        std::fs::write(dir.path().join("outside.txt"), "sentinel-outside==6.6.6\n").expect("outside");
        std::fs::write(root.join("base.txt"), "idna==3.7\n-r sub/more.txt\n").expect("base");
        std::fs::write(root.join("sub/more.txt"), "-c ../base.txt\nflask\n").expect("more");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("link.txt")).expect("link");
        Tree { _dir: dir, root }
    })
}

fuzz_target!(|data: &[u8]| {
    let tree = tree();
    let contents = String::from_utf8_lossy(data);
    let fs_path = tree.root.join("requirements.txt");
    let input = ParseInput::new(&contents, &fs_path, "requirements.txt").with_root(&tree.root);
    let named = contents.contains("sentinel");
    if let Ok(parsed) = parse(FileType::PipRequirements, &input)
        && !named
    {
        assert!(
            parsed.packages.iter().all(|p| !p.name.contains("sentinel-outside")),
            "a file outside the scanned tree was read"
        );
    }
});
