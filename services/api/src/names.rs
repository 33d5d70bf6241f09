//! The resource names of the API, written and read in one place:
//! `agents/{agent_id}/findings/{id}` for a finding (its id is the hex of its
//! 16-byte key) and `decisions/{id}` for a decision.

use crate::ApiError;
use crate::validate::check_id;

/// Longest decision id, as AIP-122 allows for ids a client chooses.
const MAX_DECISION_ID_LEN: usize = 63;

/// The name of an agent's finding.
pub(crate) fn finding_name(agent_id: &str, id: &str) -> String {
    format!("agents/{agent_id}/findings/{id}")
}

/// Reads a finding's name: its agent and key (INVALID_ARGUMENT when it is
/// not one).
pub(crate) fn parse_finding_name(name: &str) -> Result<(String, Vec<u8>), ApiError> {
    let bad = || ApiError::invalid(format!("name {name:?} is not agents/{{agent_id}}/findings/{{id}}"));
    let (agent, id) = name
        .strip_prefix("agents/")
        .and_then(|rest| rest.rsplit_once("/findings/"))
        .ok_or_else(bad)?;
    check_id("name's agent_id", agent)?;
    let key = crate::digest::unhex(id).filter(|key| key.len() == 16).ok_or_else(bad)?;
    Ok((agent.to_string(), key))
}

/// The name of a decision.
pub(crate) fn decision_name(id: &str) -> String {
    format!("decisions/{id}")
}

/// Reads a decision's name: its id.
pub(crate) fn parse_decision_name(name: &str) -> Result<String, ApiError> {
    let id = name
        .strip_prefix("decisions/")
        .ok_or_else(|| ApiError::invalid(format!("name {name:?} is not decisions/{{id}}")))?;
    check_decision_id("name's id", id)?;
    Ok(id.to_string())
}

/// Checks a decision id: 1 to 63 of `a-z`, `0-9` and `-`, starting with a
/// letter and not ending with `-`.
pub(crate) fn check_decision_id(field: &str, id: &str) -> Result<(), ApiError> {
    let valid = (1..=MAX_DECISION_ID_LEN).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{field} {id:?} must be 1-63 of a-z, 0-9 and -, starting with a letter and not ending with -"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_refuse_what_is_not_one() {
        let id = "00112233445566778899aabbccddeeff";
        let name = finding_name("agent-1", id);
        assert_eq!(name, "agents/agent-1/findings/00112233445566778899aabbccddeeff");
        let (agent, key) = parse_finding_name(&name).unwrap();
        assert_eq!(agent, "agent-1");
        assert_eq!(crate::digest::hex(&key), id);
        for bad in [
            "",
            "agents/a/findings/00",
            "agents//findings/00112233445566778899aabbccddeeff",
            "findings/00112233445566778899aabbccddeeff",
            "agents/a/findings/zz112233445566778899aabbccddeeff",
        ] {
            assert!(parse_finding_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_decision_name(&decision_name("ok-1")).unwrap(), "ok-1");
        for bad in [
            "decisions/",
            "decisions/A",
            "decisions/1a",
            "decisions/a-",
            "other/a",
            "decisions/a/b",
        ] {
            assert!(parse_decision_name(bad).is_err(), "{bad:?}");
        }
    }
}
