-- The open findings of each agent, kept by SubmitScanReport in its
-- transaction (as finding_counts keeps the total), so that ListAgents
-- shows them without counting each agent's findings.

ALTER TABLE agents ADD COLUMN open_findings BIGINT NOT NULL DEFAULT 0;
UPDATE agents SET open_findings = (
    SELECT COUNT(*) FROM findings
    WHERE findings.agent_id = agents.agent_id AND findings.resolved_at IS NULL
);
