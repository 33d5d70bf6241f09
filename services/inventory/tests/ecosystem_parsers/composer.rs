use super::common::{assert_packages, parse_fixture, parse_str};
use zerotrace_inventory::{
    FileType,
    Scope::{Development as D, Runtime as RT},
    Source::{Git, Path, Registry as R},
};

#[test]
fn laravel_app_with_dev_packages_and_v_prefixes() {
    assert_packages(
        &parse_fixture("composer/laravel/composer.lock"),
        &[
            ("guzzlehttp/guzzle", "7.8.1", RT, R),
            ("laravel/framework", "10.48.4", RT, R),
            ("Monolog/Monolog", "3.5.0", RT, R),
            ("symfony/http-kernel", "6.4.5", RT, R),
            ("symfony/polyfill-php80", "1.29.0", RT, R),
            ("acme/internal-sdk", "dev-main", RT, Git),
            ("phpunit/phpunit", "10.5.13", D, R),
            ("mockery/mockery", "1.6.11", D, R),
            ("fakerphp/faker", "1.23.1", D, R),
        ],
    );
}

#[test]
fn path_repositories_and_null_dev_packages() {
    assert_packages(
        &parse_fixture("composer/path-repo/composer.lock"),
        &[
            ("acme/shared-kernel", "dev-feature/payments", RT, Path),
            ("psr/log", "3.0.0", RT, R),
        ],
    );
}

#[test]
fn malformed_files_are_errors() {
    assert_eq!(
        parse_str(FileType::ComposerLock, "{\"packages\": [").unwrap_err().0,
        "composer.lock: EOF while parsing a list at line 1 column 14"
    );
    assert!(parse_str(FileType::ComposerLock, "[]").is_err());
    assert!(parse_str(FileType::ComposerLock, r#"{"packages": [{"version": "1.0"}]}"#).is_err());
    assert!(
        parse_str(
            FileType::ComposerLock,
            r#"{"packages": [{"name": " ", "version": "1.0"}]}"#
        )
        .is_err()
    );
    assert!(
        parse_str(FileType::ComposerLock, r#"{"packages": [], "packages-dev": []}"#)
            .unwrap()
            .is_empty()
    );
}

crate::fuzz_parser!(
    FileType::ComposerLock,
    "(\\{|\\}|\\[|\\]|\"packages\"|\"packages-dev\"|\"name\"|\"version\"|\"dist\"|\"type\"|\"path\"|null|:|,|\"[a-z/v0-9.]{0,6}\"){0,40}",
    ["composer/laravel/composer.lock", "composer/path-repo/composer.lock"]
);
