//! What a team decided about a finding it accepted, in the three vocabularies
//! it travels through: the `[[ignore]]` entries of `zerotrace.toml` and of
//! exported fleet decisions (`kind = "not-affected"`, kebab-case), the API's
//! decisions (the proto enums), and CycloneDX's impact analysis (snake_case).
//! The names are the enums' own, so the three never drift apart.

use serde::Serialize;
use zerotrace_proto::api::v1 as pb;

/// The analysis of an accepted finding: what was decided, why it is not
/// affected (only then), and what is done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Analysis {
    pub(crate) kind: pb::DecisionKind,
    pub(crate) justification: pb::AnalysisJustification,
    pub(crate) responses: Vec<pb::AnalysisResponse>,
}

impl Default for Analysis {
    /// An `[[ignore]]` without `kind`: an accepted risk.
    fn default() -> Self {
        Self {
            kind: pb::DecisionKind::AcceptedRisk,
            justification: pb::AnalysisJustification::Unspecified,
            responses: Vec::new(),
        }
    }
}

/// Which key of an entry is wrong, and why.
pub(crate) type KeyError = (&'static str, String);

impl Analysis {
    /// Reads the keys of an entry: `kind` (default accepted risk),
    /// `justification` (with `not-affected` only) and `responses`.
    pub(crate) fn parse(
        kind: Option<&str>,
        justification: Option<&str>,
        responses: &[String],
    ) -> Result<Self, KeyError> {
        let kind = match kind {
            Some(text) => word(text, KIND, pb::DecisionKind::from_str_name)
                .filter(|k| *k != pb::DecisionKind::Unspecified)
                .ok_or_else(|| ("kind", choices(text, KIND, &kind_names())))?,
            None => pb::DecisionKind::AcceptedRisk,
        };
        let justification = match justification {
            Some(text) => {
                let parsed = word(text, JUSTIFICATION, pb::AnalysisJustification::from_str_name)
                    .filter(|j| *j != pb::AnalysisJustification::Unspecified)
                    .ok_or_else(|| ("justification", choices(text, JUSTIFICATION, &justification_names())))?;
                if kind != pb::DecisionKind::NotAffected {
                    return Err((
                        "justification",
                        "says why a finding is not affected: only with kind = \"not-affected\"".to_string(),
                    ));
                }
                parsed
            }
            None => pb::AnalysisJustification::Unspecified,
        };
        let mut parsed = Vec::with_capacity(responses.len());
        for text in responses {
            let response = word(text, RESPONSE, pb::AnalysisResponse::from_str_name)
                .filter(|r| *r != pb::AnalysisResponse::Unspecified)
                .ok_or_else(|| ("responses", choices(text, RESPONSE, &response_names())))?;
            if !parsed.contains(&response) {
                parsed.push(response);
            }
        }
        Ok(Self {
            kind,
            justification,
            responses: parsed,
        })
    }

    /// The analysis of an API decision (unknown values read as unset).
    pub(crate) fn of_decision(decision: &pb::Decision) -> Self {
        Self {
            kind: pb::DecisionKind::try_from(decision.kind).unwrap_or(pb::DecisionKind::AcceptedRisk),
            justification: pb::AnalysisJustification::try_from(decision.justification)
                .unwrap_or(pb::AnalysisJustification::Unspecified),
            responses: decision
                .responses
                .iter()
                .filter_map(|r| pb::AnalysisResponse::try_from(*r).ok())
                .filter(|r| *r != pb::AnalysisResponse::Unspecified)
                .collect(),
        }
    }

    /// Sets the analysis fields of an API decision.
    pub(crate) fn apply_to(&self, decision: &mut pb::Decision) {
        decision.kind = self.kind as i32;
        decision.justification = self.justification as i32;
        decision.responses = self.responses.iter().map(|r| *r as i32).collect();
    }

    /// Its `[[ignore]]` keys: kind, justification (if any), responses.
    pub(crate) fn config_words(&self) -> (String, Option<String>, Vec<String>) {
        let justification = (self.justification != pb::AnalysisJustification::Unspecified)
            .then(|| config_word(self.justification.as_str_name(), JUSTIFICATION));
        (
            config_word(self.kind.as_str_name(), KIND),
            justification,
            self.responses
                .iter()
                .map(|r| config_word(r.as_str_name(), RESPONSE))
                .collect(),
        )
    }

    /// The CycloneDX impact analysis: an accepted risk is `exploitable`
    /// (answered `will_not_fix` unless responses say otherwise), a false
    /// positive `false_positive`, a package not affected `not_affected`.
    pub(crate) fn cyclonedx(&self) -> CycloneDxAnalysis {
        let state = match self.kind {
            pb::DecisionKind::FalsePositive => "false_positive",
            pb::DecisionKind::NotAffected => "not_affected",
            pb::DecisionKind::AcceptedRisk | pb::DecisionKind::Unspecified => "exploitable",
        };
        let mut response: Vec<String> = self
            .responses
            .iter()
            .map(|r| config_word(r.as_str_name(), RESPONSE).replace('-', "_"))
            .collect();
        if response.is_empty() && state == "exploitable" {
            response.push("will_not_fix".to_string());
        }
        CycloneDxAnalysis {
            state,
            justification: (self.justification != pb::AnalysisJustification::Unspecified)
                .then(|| config_word(self.justification.as_str_name(), JUSTIFICATION).replace('-', "_")),
            response,
        }
    }

    /// Its kind for people: "accepted risk", "false positive", "not affected".
    pub(crate) fn kind_words(&self) -> String {
        config_word(self.kind.as_str_name(), KIND).replace('-', " ")
    }
}

/// The CycloneDX `analysis` of a vulnerability, without its detail.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CycloneDxAnalysis {
    pub(crate) state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) justification: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) response: Vec<String>,
}

/// The proto name prefixes of the three enums.
const KIND: &str = "DECISION_KIND_";
const JUSTIFICATION: &str = "ANALYSIS_JUSTIFICATION_";
const RESPONSE: &str = "ANALYSIS_RESPONSE_";

/// Every value of each enum but the unspecified one, for error messages.
fn kind_names() -> [&'static str; 3] {
    [
        pb::DecisionKind::AcceptedRisk.as_str_name(),
        pb::DecisionKind::FalsePositive.as_str_name(),
        pb::DecisionKind::NotAffected.as_str_name(),
    ]
}
fn justification_names() -> [&'static str; 9] {
    [
        pb::AnalysisJustification::CodeNotPresent.as_str_name(),
        pb::AnalysisJustification::CodeNotReachable.as_str_name(),
        pb::AnalysisJustification::RequiresConfiguration.as_str_name(),
        pb::AnalysisJustification::RequiresDependency.as_str_name(),
        pb::AnalysisJustification::RequiresEnvironment.as_str_name(),
        pb::AnalysisJustification::ProtectedByCompiler.as_str_name(),
        pb::AnalysisJustification::ProtectedAtRuntime.as_str_name(),
        pb::AnalysisJustification::ProtectedAtPerimeter.as_str_name(),
        pb::AnalysisJustification::ProtectedByMitigatingControl.as_str_name(),
    ]
}
fn response_names() -> [&'static str; 5] {
    [
        pb::AnalysisResponse::CanNotFix.as_str_name(),
        pb::AnalysisResponse::WillNotFix.as_str_name(),
        pb::AnalysisResponse::Update.as_str_name(),
        pb::AnalysisResponse::Rollback.as_str_name(),
        pb::AnalysisResponse::WorkaroundAvailable.as_str_name(),
    ]
}

/// `DECISION_KIND_NOT_AFFECTED` → `not-affected`.
fn config_word(proto: &str, prefix: &str) -> String {
    proto
        .strip_prefix(prefix)
        .unwrap_or(proto)
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// `not-affected` (or `not_affected`) → the value `from_str_name` finds.
fn word<E>(text: &str, prefix: &str, from_str_name: fn(&str) -> Option<E>) -> Option<E> {
    from_str_name(&format!(
        "{prefix}{}",
        text.trim().to_ascii_uppercase().replace('-', "_")
    ))
}

/// Says which words a key takes.
fn choices(text: &str, prefix: &str, all: &[&str]) -> String {
    let words: Vec<String> = all.iter().map(|name| config_word(name, prefix)).collect();
    format!("{text:?} is not one of {}", words.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_words_round_trip_and_map_to_cyclonedx() {
        let analysis = Analysis::parse(
            Some("not-affected"),
            Some("code-not-reachable"),
            &["will-not-fix".to_string(), "update".to_string(), "update".to_string()],
        )
        .unwrap();
        assert_eq!(analysis.kind, pb::DecisionKind::NotAffected);
        assert_eq!(analysis.responses.len(), 2, "a response once");
        let (kind, justification, responses) = analysis.config_words();
        assert_eq!(kind, "not-affected");
        assert_eq!(justification.as_deref(), Some("code-not-reachable"));
        assert_eq!(
            Analysis::parse(Some(&kind), justification.as_deref(), &responses).unwrap(),
            analysis
        );
        let cdx = analysis.cyclonedx();
        assert_eq!(cdx.state, "not_affected");
        assert_eq!(cdx.justification.as_deref(), Some("code_not_reachable"));
        assert_eq!(cdx.response, ["will_not_fix", "update"]);
        let risk = Analysis::parse(None, None, &[]).unwrap().cyclonedx();
        assert_eq!(
            (risk.state, risk.response.as_slice()),
            ("exploitable", &["will_not_fix".to_string()][..])
        );
        assert_eq!(
            Analysis::parse(Some("false-positive"), None, &[])
                .unwrap()
                .cyclonedx()
                .state,
            "false_positive"
        );
    }

    #[test]
    fn wrong_words_name_their_key_and_the_choices() {
        let (key, message) = Analysis::parse(Some("wontfix"), None, &[]).unwrap_err();
        assert_eq!(key, "kind");
        assert!(
            message.contains("accepted-risk, false-positive, not-affected"),
            "{message}"
        );
        let (key, _) = Analysis::parse(None, Some("code-not-present"), &[]).unwrap_err();
        assert_eq!(key, "justification", "only with not-affected");
        let (key, message) = Analysis::parse(None, None, &["later".to_string()]).unwrap_err();
        assert_eq!(key, "responses");
        assert!(message.contains("workaround-available"), "{message}");
        assert!(Analysis::parse(Some("unspecified"), None, &[]).is_err());
    }
}
