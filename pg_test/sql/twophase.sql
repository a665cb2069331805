-- Two-phase decoding (slot created with twophase => true): changes come at
-- PREPARE with the GID, then COMMIT PREPARED or ROLLBACK PREPARED.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('tp', 'wal2any', false, true);
CREATE TABLE tp_t (id int PRIMARY KEY, v text);

BEGIN;
INSERT INTO tp_t VALUES (1, 'committed later');
PREPARE TRANSACTION 'tx_commit';
SELECT data FROM pg_logical_slot_get_changes('tp', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');
COMMIT PREPARED 'tx_commit';
SELECT data FROM pg_logical_slot_get_changes('tp', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');

BEGIN;
INSERT INTO tp_t VALUES (2, 'rolled back later');
DELETE FROM tp_t WHERE id = 1;
PREPARE TRANSACTION 'tx ''quoted'' gid';
SELECT data FROM pg_logical_slot_get_changes('tp', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');
ROLLBACK PREPARED 'tx ''quoted'' gid';
SELECT data FROM pg_logical_slot_get_changes('tp', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');
-- decoded only after ROLLBACK PREPARED: PostgreSQL skips the aborted changes
BEGIN;
INSERT INTO tp_t VALUES (5, 'never seen');
PREPARE TRANSACTION 'tx_late';
ROLLBACK PREPARED 'tx_late';
SELECT data FROM pg_logical_slot_get_changes('tp', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');

-- the xid of prepare and commit_prepared is the same transaction
BEGIN;
INSERT INTO tp_t VALUES (3, 'x');
PREPARE TRANSACTION 'tx_xid';
COMMIT PREPARED 'tx_xid';
WITH e AS (SELECT data::jsonb AS j FROM pg_logical_slot_get_changes('tp', NULL, NULL, 'include-lsn', '1', 'include-timestamp', '1'))
SELECT j ->> 'action' AS action, j ->> 'gid' AS gid, (j ->> 'xid')::xid IS NOT NULL AS has_xid,
       j ? 'end_lsn' AS has_end_lsn, j ? 'prepare_time' OR j ? 'commit_time' AS has_time
FROM e WHERE j ->> 'action' <> 'insert';

-- without twophase, a prepared transaction is decoded at COMMIT PREPARED as a plain transaction
SELECT 'init' FROM pg_create_logical_replication_slot('tp_off', 'wal2any');
BEGIN;
INSERT INTO tp_t VALUES (4, 'y');
PREPARE TRANSACTION 'tx_plain';
SELECT count(*) AS before_commit FROM pg_logical_slot_peek_changes('tp_off', NULL, NULL);
COMMIT PREPARED 'tx_plain';
SELECT data FROM pg_logical_slot_get_changes('tp_off', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');

SELECT 'drop' FROM pg_drop_replication_slot('tp');
SELECT 'drop' FROM pg_drop_replication_slot('tp_off');
DROP TABLE tp_t;
