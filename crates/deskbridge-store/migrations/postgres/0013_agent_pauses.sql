-- Agents' pauses in their group's queues (deskbridge_core::pause): one row per
-- pause, from its start to its end, so paused time can be summed per reason.
-- At most one open pause per agent and group: the phone system reports a
-- member of several queues once per queue, and the second report must not
-- open a second pause. `until_at`: when a wrap-up's pause ends by itself.
CREATE TABLE agent_pauses (
    id          BIGSERIAL PRIMARY KEY,
    group_name  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    reason      TEXT,
    source      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    until_at    TEXT,
    ended_at    TEXT
);
CREATE UNIQUE INDEX agent_pauses_one_open ON agent_pauses (group_name, agent)
    WHERE ended_at IS NULL;
CREATE INDEX agent_pauses_by_agent ON agent_pauses (agent, started_at);
