//! The `[[ignore]]` entries of `zerotrace.toml`: findings a team accepted, with
//! a reason, for a time. An ignore names an advisory (by its id or any of its
//! aliases) and may narrow itself to an ecosystem, a package (with a version
//! requirement) and lockfile paths. Until its date it suppresses the findings
//! it matches: they do not count toward `--fail-on`, and every output still
//! reports them, with the reason. After its date it applies no more and the
//! scan warns that it expired; an ignore that matched nothing is reported as
//! unused.
//!
//! An entry also says what was decided (`kind`, `justification`,
//! `responses`: [`crate::triage`]) and by whom (`author`). The same entries
//! are the shape of the API's fleet decisions (`zerotrace decisions export`
//! and `import`), which may narrow themselves to an agent and a scan root: an
//! entry with `agent` or `root` is a fleet decision, and a local scan does not
//! apply it (it says so).

use std::cmp::Ordering;

use globset::{Glob, GlobMatcher};
use serde::Serialize;
use zerotrace_advisory::time::parse_unix;
use zerotrace_ecosystem::Ecosystem;
use zerotrace_inventory::Package;
use zerotrace_proto::api::v1 as pb;

use crate::triage::Analysis;

/// Seconds in a day: an ignore applies through the whole of its `until` date (UTC).
const DAY: u64 = 86_400;

/// One `[[ignore]]` entry, checked.
#[derive(Debug)]
pub(crate) struct Ignore {
    /// Where it is written (`zerotrace.toml:12`), for messages.
    pub(crate) at: String,
    /// The advisory id or alias it names.
    pub(crate) id: String,
    pub(crate) reason: String,
    /// Its last day, as written (`YYYY-MM-DD`), and the Unix second it ends.
    pub(crate) until: Option<(String, u64)>,
    /// What was decided.
    pub(crate) analysis: Analysis,
    /// Who decided it, if the entry says.
    pub(crate) author: Option<String>,
    ecosystem: Option<Ecosystem>,
    package: Option<String>,
    version: Option<Requirement>,
    path: Option<GlobMatcher>,
    /// The agent and scan root of a fleet decision.
    agent: Option<String>,
    root: Option<String>,
}

/// An entry as the file spells it; [`Ignore::check`] turns it into an [`Ignore`].
#[derive(Debug, Default)]
pub(crate) struct IgnoreSpec {
    pub(crate) id: String,
    pub(crate) reason: String,
    pub(crate) until: Option<String>,
    pub(crate) ecosystem: Option<String>,
    pub(crate) package: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) justification: Option<String>,
    pub(crate) responses: Vec<String>,
    pub(crate) author: Option<String>,
    pub(crate) agent: Option<String>,
    pub(crate) root: Option<String>,
}

/// Which field of an entry is wrong, and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SpecError {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

impl Ignore {
    /// Checks an entry: a non-empty id and reason, a date, a known
    /// ecosystem, a version requirement that the ecosystem can read, a glob.
    pub(crate) fn check(spec: IgnoreSpec, at: String) -> Result<Self, SpecError> {
        let bad = |key, message: String| SpecError { key, message };
        if spec.id.trim().is_empty() {
            return Err(bad("id", "is empty".to_string()));
        }
        if spec.reason.trim().is_empty() {
            return Err(bad("reason", "is empty: say why the finding is accepted".to_string()));
        }
        let until = match spec.until {
            Some(date) => {
                let start = parse_unix(&date)
                    .filter(|_| date.trim().len() == 10)
                    .ok_or_else(|| bad("until", format!("{date:?} is not a date (YYYY-MM-DD)")))?;
                Some((date.trim().to_string(), start + DAY))
            }
            None => None,
        };
        let ecosystem = match spec.ecosystem {
            Some(name) => Some(
                Ecosystem::from_osv(&name)
                    .or_else(|| name.parse().ok())
                    .ok_or_else(|| bad("ecosystem", format!("{name:?} is not an ecosystem ZeroTrace reads")))?,
            ),
            None => None,
        };
        let version = match spec.version {
            Some(text) => Some(Requirement::parse(&text).map_err(|m| bad("version", m))?),
            None => None,
        };
        if version.is_some() && spec.package.is_none() {
            return Err(bad("version", "needs `package`".to_string()));
        }
        let path = match spec.path {
            Some(glob) => Some(
                Glob::new(&glob)
                    .map_err(|e| bad("path", format!("{glob:?} is not a glob: {e}")))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let analysis = Analysis::parse(spec.kind.as_deref(), spec.justification.as_deref(), &spec.responses)
            .map_err(|(key, message)| bad(key, message))?;
        let text = |key: &'static str, value: Option<String>| -> Result<Option<String>, SpecError> {
            match value.map(|v| v.trim().to_string()) {
                Some(v) if v.is_empty() => Err(bad(key, "is empty".to_string())),
                other => Ok(other),
            }
        };
        Ok(Self {
            at,
            id: spec.id.trim().to_string(),
            reason: spec.reason.trim().to_string(),
            until,
            analysis,
            author: text("author", spec.author)?,
            ecosystem,
            package: spec.package.map(|p| p.trim().to_string()),
            version,
            path,
            agent: text("agent", spec.agent)?,
            root: text("root", spec.root)?,
        })
    }

    /// Whether it is a fleet decision: narrowed to an agent or a scan root,
    /// which a local scan does not have.
    pub(crate) fn fleet_only(&self) -> bool {
        self.agent.is_some() || self.root.is_some()
    }

    /// The API decision this entry stands for (`zerotrace decisions
    /// import`), made by the entry's author or else `author`. A decision
    /// names an ecosystem and a package, narrows to one exact version at
    /// most, and knows agents and scan roots but not lockfile paths.
    pub(crate) fn decision(&self, author: Option<&str>) -> Result<pb::Decision, SpecError> {
        let bad = |key, message: &str| SpecError {
            key,
            message: message.to_string(),
        };
        let ecosystem = self
            .ecosystem
            .ok_or_else(|| bad("ecosystem", "is required in a fleet decision"))?;
        let package = self
            .package
            .clone()
            .ok_or_else(|| bad("package", "is required in a fleet decision"))?;
        let version = match &self.version {
            Some(requirement) => requirement
                .exact()
                .ok_or_else(|| {
                    bad(
                        "version",
                        "a fleet decision narrows to one exact version (`1.2.3`), not a range",
                    )
                })?
                .to_string(),
            None => String::new(),
        };
        if self.path.is_some() {
            return Err(bad(
                "path",
                "a fleet decision narrows by `agent` and scan `root`, not by lockfile path",
            ));
        }
        let author = self
            .author
            .as_deref()
            .or(author)
            .ok_or_else(|| bad("author", "is required: write it in the entry or pass --author"))?;
        let mut decision = pb::Decision {
            reason: self.reason.clone(),
            author: author.to_string(),
            expire_time: self.until.as_ref().map(|(_, end)| prost_types::Timestamp {
                seconds: i64::try_from(*end).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            scope: Some(pb::DecisionScope {
                advisory_id: self.id.clone(),
                ecosystem: ecosystem.osv_name().to_string(),
                package_name: package,
                version,
                agent_id: self.agent.clone().unwrap_or_default(),
                root: self.root.clone().unwrap_or_default(),
            }),
            ..Default::default()
        };
        self.analysis.apply_to(&mut decision);
        Ok(decision)
    }

    /// Whether the ignore still applies at `now` (Unix seconds).
    pub(crate) fn in_force(&self, now: u64) -> bool {
        self.until.as_ref().is_none_or(|(_, end)| now < *end)
    }

    /// Whether it matches a finding of `advisory` (with `aliases`) in `package`.
    pub(crate) fn matches(&self, advisory: &str, aliases: &[String], package: &Package) -> bool {
        let named = self.id.eq_ignore_ascii_case(advisory) || aliases.iter().any(|a| self.id.eq_ignore_ascii_case(a));
        named
            && self.ecosystem.is_none_or(|e| e == package.ecosystem)
            && self.package.as_ref().is_none_or(|name| {
                package.ecosystem.normalize_name(name) == package.ecosystem.normalize_name(&package.name)
            })
            && self
                .version
                .as_ref()
                .is_none_or(|req| req.admits(package.ecosystem, &package.version))
            && self.path.as_ref().is_none_or(|glob| {
                glob.is_match(&package.path)
                    || (!glob.glob().glob().contains('/')
                        && glob.is_match(package.path.rsplit('/').next().unwrap_or_default()))
            })
    }
}

/// A version requirement: comparators joined by `,`, all of which must hold
/// (`>=1.2, <2`; a bare version means `=`), compared by the package's
/// ecosystem's own rules.
#[derive(Debug)]
struct Requirement(Vec<(Op, String)>);

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Requirement {
    /// The one version it admits, when it is a single `=` comparator.
    fn exact(&self) -> Option<&str> {
        match self.0.as_slice() {
            [(Op::Eq, version)] => Some(version),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let mut comparators = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (op, version) = [
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
                ("=", Op::Eq),
            ]
            .into_iter()
            .find_map(|(sign, op)| part.strip_prefix(sign).map(|v| (op, v.trim())))
            .unwrap_or((Op::Eq, part));
            if version.is_empty() || version.contains(char::is_whitespace) {
                return Err(format!("{text:?} is not a version requirement (e.g. \">=1.2, <2\")"));
            }
            comparators.push((op, version.to_string()));
        }
        Ok(Self(comparators))
    }

    /// Whether `version` meets every comparator. A version the ecosystem
    /// cannot compare meets none: an ignore never widens by accident.
    fn admits(&self, ecosystem: Ecosystem, version: &str) -> bool {
        self.0.iter().all(|(op, bound)| {
            // `<0.2` means `<0.2.0` where versions have three parts (SemVer).
            let padded = || {
                let parts = bound.split('.').count();
                (parts < 3).then(|| format!("{bound}{}", ".0".repeat(3 - parts)))
            };
            let order = zerotrace_ecosystem::version::compare(ecosystem, version, bound)
                .ok()
                .or_else(|| padded().and_then(|b| zerotrace_ecosystem::version::compare(ecosystem, version, &b).ok()));
            let Some(order) = order else {
                return false;
            };
            match op {
                Op::Eq => order == Ordering::Equal,
                Op::Ne => order != Ordering::Equal,
                Op::Lt => order == Ordering::Less,
                Op::Le => order != Ordering::Greater,
                Op::Gt => order == Ordering::Greater,
                Op::Ge => order != Ordering::Less,
            }
        })
    }
}

/// Why a finding is suppressed, as every output reports it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Suppression {
    /// `ignore` (zerotrace.toml).
    pub(crate) kind: &'static str,
    /// What was decided: `accepted-risk`, `false-positive`, `not-affected`.
    pub(crate) decision: String,
    pub(crate) reason: String,
    /// The ignore's last day, if it has one.
    pub(crate) until: Option<String>,
    /// Where the ignore is written.
    pub(crate) source: String,
    /// The whole analysis, for the formats that carry it (CycloneDX).
    #[serde(skip)]
    pub(crate) analysis: Analysis,
}

/// The ignores of a scan, and what they did.
#[derive(Debug, Default)]
pub(crate) struct Ignores {
    rules: Vec<Ignore>,
    used: Vec<bool>,
    now: u64,
}

/// What the ignores did in a scan, for the report.
#[derive(Debug, Default, Serialize)]
pub(crate) struct IgnoreOutcome {
    /// Ignores past their date: they applied to nothing.
    pub(crate) expired: Vec<IgnoreRef>,
    /// Ignores in force that matched no finding.
    pub(crate) unused: Vec<IgnoreRef>,
    /// Fleet decisions (with `agent` or `root`): a local scan does not apply them.
    pub(crate) fleet: Vec<IgnoreRef>,
}

/// An ignore named in the report.
#[derive(Debug, Serialize)]
pub(crate) struct IgnoreRef {
    pub(crate) id: String,
    pub(crate) until: Option<String>,
    pub(crate) source: String,
}

impl Ignores {
    /// The ignores of a scan at `now` (Unix seconds).
    pub(crate) fn new(rules: Vec<Ignore>, now: u64) -> Self {
        let used = vec![false; rules.len()];
        Self { rules, used, now }
    }

    /// The suppression of a finding, if an ignore in force matches it (the first one written).
    pub(crate) fn suppression(&mut self, advisory: &str, aliases: &[String], package: &Package) -> Option<Suppression> {
        let now = self.now;
        let (i, rule) =
            self.rules.iter().enumerate().find(|(_, rule)| {
                !rule.fleet_only() && rule.in_force(now) && rule.matches(advisory, aliases, package)
            })?;
        if let Some(used) = self.used.get_mut(i) {
            *used = true;
        }
        Some(Suppression {
            kind: "ignore",
            decision: rule.analysis.config_words().0,
            reason: rule.reason.clone(),
            until: rule.until.as_ref().map(|(date, _)| date.clone()),
            source: rule.at.clone(),
            analysis: rule.analysis.clone(),
        })
    }

    /// What the ignores did: the expired ones, and those in force that matched nothing.
    pub(crate) fn outcome(&self) -> IgnoreOutcome {
        let mut outcome = IgnoreOutcome::default();
        for (rule, used) in self.rules.iter().zip(&self.used) {
            let named = IgnoreRef {
                id: rule.id.clone(),
                until: rule.until.as_ref().map(|(date, _)| date.clone()),
                source: rule.at.clone(),
            };
            if rule.fleet_only() {
                outcome.fleet.push(named);
            } else if !rule.in_force(self.now) {
                outcome.expired.push(named);
            } else if !used {
                outcome.unused.push(named);
            }
        }
        outcome
    }
}

/// Today for ignores: the clock, or `ZEROTRACE_TODAY` (`YYYY-MM-DD`, for
/// reproducible runs and tests) when set.
pub(crate) fn today() -> Result<u64, String> {
    match std::env::var("ZEROTRACE_TODAY") {
        Ok(date) if !date.trim().is_empty() => parse_unix(&date)
            .filter(|_| date.trim().len() == 10)
            .ok_or_else(|| format!("ZEROTRACE_TODAY={date:?} is not a date (YYYY-MM-DD)")),
        _ => Ok(zerotrace_advisory::time::now_unix()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotrace_inventory::{Scope, Source};

    fn package(ecosystem: Ecosystem, name: &str, version: &str, path: &str) -> Package {
        Package {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
            path: path.to_string(),
            scope: Scope::Runtime,
            source: Source::Registry,
            requirement: None,
            direct: None,
        }
    }

    fn ignore(spec: IgnoreSpec) -> Ignore {
        Ignore::check(spec, "zerotrace.toml:1".to_string()).unwrap()
    }

    fn spec(id: &str) -> IgnoreSpec {
        IgnoreSpec {
            id: id.to_string(),
            reason: "accepted".to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn an_ignore_names_an_advisory_or_an_alias_and_narrows_by_scope() {
        let time = package(Ecosystem::CratesIo, "time", "0.1.43", "services/api/Cargo.lock");
        let aliases = ["CVE-2020-26235".to_string()];
        assert!(ignore(spec("RUSTSEC-2020-0071")).matches("RUSTSEC-2020-0071", &aliases, &time));
        assert!(ignore(spec("cve-2020-26235")).matches("RUSTSEC-2020-0071", &aliases, &time));
        assert!(!ignore(spec("RUSTSEC-2020-0072")).matches("RUSTSEC-2020-0071", &aliases, &time));

        let narrowed = |f: fn(&mut IgnoreSpec)| {
            let mut s = spec("RUSTSEC-2020-0071");
            f(&mut s);
            ignore(s).matches("RUSTSEC-2020-0071", &aliases, &time)
        };
        assert!(narrowed(|s| s.ecosystem = Some("crates.io".into())));
        assert!(!narrowed(|s| s.ecosystem = Some("npm".into())));
        assert!(narrowed(|s| s.package = Some("time".into())));
        assert!(!narrowed(|s| s.package = Some("chrono".into())));
        assert!(narrowed(|s| {
            s.package = Some("time".into());
            s.version = Some(">=0.1, <0.2".into());
        }));
        assert!(!narrowed(|s| {
            s.package = Some("time".into());
            s.version = Some(">=0.2".into());
        }));
        assert!(narrowed(|s| s.path = Some("services/**/Cargo.lock".into())));
        assert!(
            narrowed(|s| s.path = Some("Cargo.lock".into())),
            "a glob without / matches the file name"
        );
        assert!(!narrowed(|s| s.path = Some("tools/**".into())));
    }

    #[test]
    fn names_compare_as_the_ecosystem_folds_them() {
        let pkg = package(Ecosystem::PyPI, "Django_Rest", "1.0", "requirements.txt");
        let mut s = spec("PYSEC-1");
        s.package = Some("django-rest".into());
        assert!(ignore(s).matches("PYSEC-1", &[], &pkg));
    }

    #[test]
    fn an_ignore_applies_through_its_last_day_and_is_then_expired() {
        let mut s = spec("X-1");
        s.until = Some("2026-03-31".into());
        let rule = ignore(s);
        let day = parse_unix("2026-03-31").unwrap();
        assert!(rule.in_force(day));
        assert!(rule.in_force(day + DAY - 1));
        assert!(!rule.in_force(day + DAY));
        let pkg = package(Ecosystem::Npm, "left-pad", "1.0.0", "package-lock.json");
        let mut before = Ignores::new(
            vec![ignore(IgnoreSpec {
                until: Some("2026-03-31".into()),
                ..spec("X-1")
            })],
            day,
        );
        assert!(before.suppression("X-1", &[], &pkg).is_some());
        assert!(before.outcome().expired.is_empty() && before.outcome().unused.is_empty());
        let mut after = Ignores::new(vec![rule], day + DAY);
        assert!(after.suppression("X-1", &[], &pkg).is_none());
        assert_eq!(after.outcome().expired.len(), 1);
        let unused = Ignores::new(vec![ignore(spec("X-2"))], day);
        assert_eq!(unused.outcome().unused.len(), 1);
    }

    #[test]
    fn bad_entries_name_their_key() {
        let key = |f: fn(&mut IgnoreSpec)| {
            let mut s = spec("X-1");
            f(&mut s);
            Ignore::check(s, String::new()).unwrap_err().key
        };
        assert_eq!(key(|s| s.reason = " ".into()), "reason");
        assert_eq!(key(|s| s.id = String::new()), "id");
        assert_eq!(key(|s| s.until = Some("next week".into())), "until");
        assert_eq!(key(|s| s.until = Some("2026-02-30T00:00:00Z".into())), "until");
        assert_eq!(key(|s| s.ecosystem = Some("cobol".into())), "ecosystem");
        assert_eq!(key(|s| s.path = Some("[".into())), "path");
        assert_eq!(key(|s| s.version = Some(">=1".into())), "version");
        assert_eq!(
            key(|s| {
                s.package = Some("x".into());
                s.version = Some(">= 1 2".into());
            }),
            "version"
        );
    }
}
