-- An alias is what one agent's report said about a vulnerability, and it
-- widens a findings filter only over that agent's findings: before this, an
-- alias written by any agent redirected every agent's reads (a report naming
-- GHSA-x an alias of CVE-y made a filter by GHSA-x list other agents'
-- CVE-y findings). Rows written before it do not say which agent wrote
-- them; each goes to the agents that have findings of its vulnerability,
-- which is what a filter by it could reach then.

CREATE TABLE vuln_aliases_by_agent (
    alias TEXT COLLATE "C" NOT NULL,
    agent_id TEXT COLLATE "C" NOT NULL,
    vuln_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (alias, agent_id, vuln_id)
);

INSERT INTO vuln_aliases_by_agent (alias, agent_id, vuln_id)
SELECT DISTINCT a.alias, f.agent_id, a.vuln_id
FROM vuln_aliases a JOIN findings f ON f.vuln_id = a.vuln_id;

DROP TABLE vuln_aliases;
ALTER TABLE vuln_aliases_by_agent RENAME TO vuln_aliases;
