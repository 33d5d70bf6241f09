//! ZeroTrace's gRPC contract, generated from `proto/` at build time.
//!
//! One module per versioned proto package; [`FILE_DESCRIPTOR_SET`] feeds the
//! reflection services so grpcurl can list and call every method.

/// The encoded `FileDescriptorSet` of every ZeroTrace proto and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/zerotrace_descriptor.bin"));

/// Returns the method names of the gRPC service `service` (its full name,
/// e.g. `zerotrace.api.v1.ApiService`), as the contract declares them; empty
/// for a service the contract does not have.
pub fn method_names(service: &str) -> Vec<String> {
    use prost::Message as _;
    let Ok(set) = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET) else {
        return Vec::new();
    };
    set.file
        .iter()
        .flat_map(|file| {
            file.service
                .iter()
                .filter(move |s| format!("{}.{}", file.package(), s.name()) == service)
        })
        .flat_map(|s| s.method.iter().map(|m| m.name().to_string()))
        .collect()
}

pub mod encoded;
pub mod reports;

/// Shared types: packages, vulnerabilities, findings.
pub mod common {
    /// Version 1.
    #[allow(clippy::all, missing_docs, unreachable_pub)]
    pub mod v1 {
        tonic::include_proto!("zerotrace.common.v1");
    }
}

/// The enrichment service: the advisory database.
pub mod enrichment {
    /// Version 1.
    #[allow(clippy::all, missing_docs, unreachable_pub)]
    pub mod v1 {
        tonic::include_proto!("zerotrace.enrichment.v1");

        /// The same service's server, whose look-ups and matches answer in
        /// the types of [`crate::encoded`]: what the enrichment service
        /// serves. The wire contract is the one above.
        pub mod encoded_server {
            include!(concat!(env!("OUT_DIR"), "/encoded_server/zerotrace.enrichment.v1.rs"));
        }
    }
}

/// The agent service: scans of source trees.
pub mod agent {
    /// Version 1.
    #[allow(clippy::all, missing_docs, unreachable_pub)]
    pub mod v1 {
        tonic::include_proto!("zerotrace.agent.v1");
    }
}

/// The API service: agents, scan reports, findings.
pub mod api {
    /// Version 1.
    #[allow(clippy::all, missing_docs, unreachable_pub)]
    pub mod v1 {
        tonic::include_proto!("zerotrace.api.v1");
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn an_advisory_list_keeps_one_entry_per_package_name_and_id() {
        let mut list = super::advisories::AdvisoryList::default();
        let mut position =
            |ecosystem: &str, name: &str, id: &str| list.position(ecosystem, name, id, || id.to_string());
        assert_eq!(position("crates.io", "time", "RUSTSEC-2020-0071"), 0);
        assert_eq!(
            position("crates.io", "time", "RUSTSEC-2020-0071"),
            0,
            "the same advisory again"
        );
        assert_eq!(
            position("crates.io", "chrono", "RUSTSEC-2020-0071"),
            1,
            "scored for another package"
        );
        assert_eq!(position("npm", "time", "RUSTSEC-2020-0071"), 2, "another ecosystem");
        // Names that run together alike stay apart.
        assert_eq!(position("crates.io", "ab", "c"), 3);
        assert_eq!(position("crates.io", "a", "bc"), 4);
        // A key made beforehand finds the same entries.
        let key = super::advisories::reference_key("crates.io", "chrono", "RUSTSEC-2020-0071");
        assert_eq!(list.position_by_key(&key, || unreachable!("already listed")), 1);
        let key = super::advisories::reference_key("crates.io", "a", "b");
        assert_eq!(list.position_by_key(&key, || "b".to_string()), 5);
        assert_eq!(
            list.position("crates.io", "a", "b", || unreachable!("listed by key")),
            5
        );
        assert_eq!(
            list.into_vec(),
            [
                "RUSTSEC-2020-0071",
                "RUSTSEC-2020-0071",
                "RUSTSEC-2020-0071",
                "c",
                "bc",
                "b"
            ]
        );
    }

    #[test]
    fn key_parts_carry_their_length() {
        let mut key = String::new();
        for part in ["", "a", "0123456789", &"x".repeat(1234)] {
            super::advisories::push_key_part(&mut key, part);
        }
        assert_eq!(key, format!("0:1:a10:01234567891234:{}", "x".repeat(1234)));
    }

    #[test]
    fn method_names_come_from_the_contract() {
        let api = super::method_names("zerotrace.api.v1.ApiService");
        assert!(api.iter().any(|m| m == "SubmitScanReport"), "{api:?}");
        assert!(api.iter().any(|m| m == "WatchFindings"), "{api:?}");
        assert!(super::method_names("zerotrace.api.v1.NoSuchService").is_empty());
    }

    #[test]
    fn descriptor_set_holds_every_service_and_its_imports() {
        let fds = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
        let names: Vec<&str> = fds.file.iter().filter_map(|f| f.name.as_deref()).collect();
        for want in [
            "google/protobuf/timestamp.proto",
            "zerotrace/common/v1/common.proto",
            "zerotrace/enrichment/v1/enrichment.proto",
            "zerotrace/agent/v1/agent.proto",
            "zerotrace/api/v1/api.proto",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
    }
}

/// Advisories carried once each in a message (MatchPackagesResponse,
/// ScanReport) and referred to by their position in it.
pub mod advisories {
    use crate::common::v1 as common;
    use std::borrow::Cow;
    use std::collections::HashMap;

    /// Appends `part` to `key` prefixed by its length, so that parts written
    /// one after another cannot run together alike ("ab" + "c" and "a" +
    /// "bc" differ). Allocates nothing once `key` has grown.
    pub fn push_key_part(key: &mut String, part: &str) {
        let mut digits = [0u8; 20];
        let mut n = part.len();
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &digit in &digits[start..] {
            key.push(char::from(digit));
        }
        key.push(':');
        key.push_str(part);
    }

    /// The key of an advisory's entry in an [`AdvisoryList`]: the advisory
    /// `id` as scored for the package `ecosystem`/`name` (as the caller
    /// spells names alike).
    pub fn reference_key(ecosystem: &str, name: &str, id: &str) -> String {
        let mut key = String::with_capacity(ecosystem.len() + name.len() + id.len() + 8);
        write_reference_key(&mut key, ecosystem, name, id);
        key
    }

    fn write_reference_key(key: &mut String, ecosystem: &str, name: &str, id: &str) {
        key.clear();
        push_key_part(key, ecosystem);
        push_key_part(key, name);
        key.push_str(id);
    }

    /// An advisory is scored for the package it affects (severity and fixed
    /// versions can differ between packages), so the list keeps one entry per
    /// (ecosystem, package name, advisory id): the versions of one package
    /// share it. `V` is the advisory as the message carries it: a
    /// `Vulnerability`, or its encoding ([`crate::encoded::EncodedVulnerability`]).
    /// Keys made beforehand with [`reference_key`] are borrowed for `'k`.
    #[derive(Debug)]
    pub struct AdvisoryList<'k, V = common::Vulnerability> {
        advisories: Vec<V>,
        /// Positions by [`reference_key`].
        positions: HashMap<Cow<'k, str>, u32, foldhash::fast::RandomState>,
        /// The key being looked up, kept to spare an allocation per look-up.
        key: String,
    }

    impl<V> Default for AdvisoryList<'_, V> {
        fn default() -> Self {
            Self {
                advisories: Vec::new(),
                positions: HashMap::default(),
                key: String::new(),
            }
        }
    }

    impl<'k, V> AdvisoryList<'k, V> {
        /// An empty list with room for `entries` advisories.
        pub fn with_capacity(entries: usize) -> Self {
            Self {
                advisories: Vec::with_capacity(entries),
                positions: HashMap::with_capacity_and_hasher(entries, Default::default()),
                key: String::new(),
            }
        }

        /// The position of the advisory `id` as scored for the package
        /// `ecosystem`/`name` (as the caller spells names alike), added on
        /// first sight as `advisory()`.
        pub fn position(&mut self, ecosystem: &str, name: &str, id: &str, advisory: impl FnOnce() -> V) -> u32 {
            write_reference_key(&mut self.key, ecosystem, name, id);
            if let Some(&position) = self.positions.get(self.key.as_str()) {
                return position;
            }
            let position = self.push(advisory());
            self.positions.insert(Cow::Owned(self.key.clone()), position);
            position
        }

        /// The position of the advisory whose [`reference_key`] is `key`,
        /// added on first sight as `advisory()`; the key is borrowed, not copied.
        pub fn position_by_key(&mut self, key: &'k str, advisory: impl FnOnce() -> V) -> u32 {
            if let Some(&position) = self.positions.get(key) {
                return position;
            }
            let position = self.push(advisory());
            self.positions.insert(Cow::Borrowed(key), position);
            position
        }

        fn push(&mut self, advisory: V) -> u32 {
            self.advisories.push(advisory);
            u32::try_from(self.advisories.len() - 1).unwrap_or(u32::MAX)
        }

        /// The advisories, in position order.
        pub fn into_vec(self) -> Vec<V> {
            self.advisories
        }
    }

    /// The advisory as `ADVISORY_VIEW_BASIC` carries it: without its long
    /// text (details and references), which [`restore_long_text`] puts back.
    pub fn without_long_text(vulnerability: &common::Vulnerability) -> common::Vulnerability {
        common::Vulnerability {
            details: String::new(),
            references: Vec::new(),
            ..vulnerability.clone()
        }
    }

    /// Gives `basic` (as [`without_long_text`] left it) the long text of
    /// `full`, the same advisory in full.
    pub fn restore_long_text(basic: &mut common::Vulnerability, full: &common::Vulnerability) {
        basic.details.clone_from(&full.details);
        basic.references.clone_from(&full.references);
    }
}
