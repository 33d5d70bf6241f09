//! What the npm-family lockfiles (npm, pnpm, Yarn, Bun) report for a
//! package that does not come from the registry: a git repository, a tarball
//! URL, a `file:`, `link:` or `portal:` path.
//!
//! The version such a lockfile records is whatever the package's own
//! `package.json` says, which is no registry release: `1.0.0` built from a
//! fork's branch is not the registry's `1.0.0`. So the version reported is
//! the git commit when the spec pins one and empty otherwise, and
//! `requirement` holds the spec itself (the URL or path), so the output says
//! where the package comes from.

use crate::parsers::collect::Collector;
use crate::{Scope, Source};

/// Adds a package that is not from the registry; `spec` is the URL or path
/// the lockfile resolved it to.
pub(crate) fn add(out: &mut Collector<'_>, name: &str, spec: &str, scope: Scope, source: Source) {
    out.add_located(name, version(spec, source), spec, scope, source);
}

/// The version [`add`] reports for a package resolved to `spec`: the
/// pinned commit for git, none otherwise.
pub(crate) fn version(spec: &str, source: Source) -> &str {
    if source == Source::Git { git_commit(spec) } else { "" }
}

/// Returns the commit a git spec pins (`…#<sha>`, `…#commit=<sha>`, a
/// full 40-digit sha as the last path segment of a GitHub tarball URL or a
/// pnpm `github.com/user/repo/<sha>` key), or "" when it pins none (a
/// branch, a tag).
pub(crate) fn git_commit(spec: &str) -> &str {
    let Some((_, fragment)) = spec.rsplit_once('#') else {
        let last = spec.rsplit('/').next().unwrap_or("");
        let is_full_sha = last.len() == 40 && last.bytes().all(|b| b.is_ascii_hexdigit());
        return if is_full_sha { last } else { "" };
    };
    let fragment = fragment
        .split('&')
        .find_map(|part| part.strip_prefix("commit="))
        .unwrap_or(fragment);
    let is_sha = (7..=64).contains(&fragment.len()) && fragment.bytes().all(|b| b.is_ascii_hexdigit());
    if is_sha { fragment } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_when_pinned() {
        assert_eq!(
            git_commit("git+ssh://git@github.com/a/b.git#5d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"),
            "5d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"
        );
        assert_eq!(git_commit("https://github.com/a/b.git#commit=abcdef1"), "abcdef1");
        assert_eq!(
            git_commit("https://github.com/a/b.git#head=main&commit=abcdef1"),
            "abcdef1"
        );
        assert_eq!(git_commit("github:a/b#main"), "");
        assert_eq!(git_commit("github:a/b#v1.2.3"), "");
        assert_eq!(git_commit("github:a/b"), "");
        assert_eq!(git_commit("git+https://x/y.git#abc"), "");
        let sha = "8c2b1d4e5f60718293a4b5c6d7e8f90123456789";
        assert_eq!(
            git_commit(&format!("https://codeload.github.com/u/r/tar.gz/{sha}")),
            sha
        );
        assert_eq!(git_commit(&format!("github.com/u/r/{sha}")), sha);
        assert_eq!(git_commit("https://codeload.github.com/u/r/tar.gz/main"), "");
    }

    #[test]
    fn non_registry_packages_carry_their_spec_and_no_registry_version() {
        let mut out = Collector::new(zerotrace_ecosystem::Ecosystem::Npm, "package-lock.json");
        add(
            &mut out,
            "a",
            "git+https://x/a.git#abcdef1234",
            Scope::Runtime,
            Source::Git,
        );
        add(&mut out, "b", "file:../b", Scope::Runtime, Source::Path);
        let p = out.finish().packages;
        assert_eq!(
            (p[0].version.as_str(), p[0].requirement.as_deref()),
            ("abcdef1234", Some("git+https://x/a.git#abcdef1234"))
        );
        assert_eq!(
            (p[1].version.as_str(), p[1].requirement.as_deref()),
            ("", Some("file:../b"))
        );
    }
}
