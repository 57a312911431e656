-- Run as bastion_owner after every migration (compose's `grants` service does): the app role may
-- read and write rows, never change the audit log or the ledger, and owns nothing.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bastion_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM bastion_app;
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries FROM bastion_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO bastion_app;
