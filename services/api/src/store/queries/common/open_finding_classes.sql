-- The open findings of each class (severity, known exploited), as kept.
SELECT severity, kev, open_findings FROM finding_class_counts
