use super::common::{assert_packages, parse_fixture, parse_full};
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::{FileType, Scope::Unspecified as U, Source::Registry as R};

#[test]
fn freeze_pins_installed_libraries_and_flags() {
    let packages = parse_fixture("cabal/cabal.project.freeze");
    assert_packages(
        &packages,
        &[
            ("Cabal", "3.8.1.0", U, R),
            ("aeson", "2.1.2.1", U, R),
            ("base", "4.17.2.0", U, R),
            ("ghc-prim", "", U, R),
            ("text", "2.0.2", U, R),
            ("warp", "3.3.30", U, R),
        ],
    );
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::Hackage));
    let ghc_prim = packages.iter().find(|p| p.name == "ghc-prim").unwrap();
    assert_eq!(ghc_prim.requirement.as_deref(), Some("installed"));
}

#[test]
fn a_strange_freeze_constraint_is_an_error_for_it() {
    let parsed = parse_full(
        FileType::CabalFreeze,
        "constraints: any.a ==1.0,\n  any.b ?? 2,\n  any.c >=1 && <2\n",
    )
    .unwrap();
    let got: Vec<_> = parsed
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.requirement.as_deref()))
        .collect();
    assert_eq!(got, [("a", "1.0", None), ("c", "", Some(">=1 && <2"))]);
    assert_eq!(
        parsed.errors,
        ["cabal.project.freeze: line 2: unrecognised constraint \"any.b ?? 2\""]
    );
    assert!(parse_full(FileType::CabalFreeze, "no colon here\n").is_err());
}

crate::fuzz_parser!(
    FileType::CabalFreeze,
    "(constraints:|any\\.|setup\\.|==|installed|\\+|-|,|\n|  |[a-z0-9.]){0,60}",
    ["cabal/cabal.project.freeze"]
);
