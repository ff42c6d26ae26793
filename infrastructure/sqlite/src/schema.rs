//! Table definitions for SQLite (the Postgres schema has the same tables and columns).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        status -> Text,
        settings -> Json,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        public_key -> Text,
        sealed_private_key -> Binary,
        created_at -> TimestamptzSqlite,
        retired_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        email_normalized -> Text,
        email_verified -> Bool,
        display_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        locale -> Nullable<Text>,
        timezone -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        metadata -> Json,
        roles -> Json,
        status -> Text,
        mfa_enabled -> Bool,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
        last_login_at -> Nullable<TimestamptzSqlite>,
        deleted_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    credentials (user_id) {
        user_id -> Text,
        password_hash -> Text,
        updated_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        created_at -> TimestamptzSqlite,
        last_seen_at -> TimestamptzSqlite,
        idle_expires_at -> TimestamptzSqlite,
        absolute_expires_at -> TimestamptzSqlite,
        revoked_at -> Nullable<TimestamptzSqlite>,
        revoked_reason -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (hash) {
        hash -> Text,
        session_id -> Text,
        created_at -> TimestamptzSqlite,
        spent_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::joinable!(credentials -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, credentials, sessions, refresh_tokens);
diesel::allow_tables_to_appear_in_same_query!(refresh_tokens, oauth_grants);
diesel::allow_tables_to_appear_in_same_query!(sessions, oauth_grants);

diesel::table! {
    login_failures (tenant_id, email_normalized) {
        tenant_id -> Text,
        email_normalized -> Text,
        failures -> Integer,
        locked_until -> Nullable<TimestamptzSqlite>,
        updated_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> Text,
        tenant_id -> Text,
        sealed_secret -> Binary,
        confirmed_at -> Nullable<TimestamptzSqlite>,
        last_used_step -> BigInt,
        created_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    recovery_codes (hash) {
        hash -> Text,
        user_id -> Text,
        used_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    mfa_challenges (hash) {
        hash -> Text,
        tenant_id -> Text,
        user_id -> Text,
        purpose -> Text,
        created_at -> TimestamptzSqlite,
        expires_at -> TimestamptzSqlite,
        attempts -> Integer,
        consumed_at -> Nullable<TimestamptzSqlite>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    totp_credentials,
    recovery_codes,
    mfa_challenges
);

diesel::table! {
    action_tokens (hash) {
        hash -> Text,
        tenant_id -> Text,
        user_id -> Text,
        purpose -> Text,
        email -> Text,
        created_at -> TimestamptzSqlite,
        expires_at -> TimestamptzSqlite,
        used_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(action_tokens, users);

diesel::table! {
    rate_limits (key, window_start) {
        key -> Text,
        window_start -> TimestamptzSqlite,
        hits -> Integer,
    }
}

diesel::table! {
    login_failure_days (tenant_id, day) {
        tenant_id -> Text,
        day -> Text,
        failures -> Integer,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        description -> Text,
        permissions -> Json,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
    }
}

diesel::allow_tables_to_appear_in_same_query!(roles, users);

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        kind -> Text,
        auth_method -> Text,
        secret_hash -> Nullable<Text>,
        jwks -> Nullable<Json>,
        redirect_uris -> Json,
        post_logout_redirect_uris -> Json,
        grant_types -> Json,
        scopes -> Json,
        roles -> Json,
        trusted -> Bool,
        id_token_alg -> Text,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    oauth_consents (user_id, client_id) {
        tenant_id -> Text,
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    spent_once (kind, key) {
        kind -> Text,
        key -> Text,
        expires_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        name -> Text,
        credential_id -> Text,
        credential -> Json,
        created_at -> TimestamptzSqlite,
        last_used_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    oauth_codes (hash) {
        hash -> Text,
        tenant_id -> Text,
        client_id -> Text,
        user_id -> Text,
        browser_session_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        scope -> Json,
        nonce -> Nullable<Text>,
        auth_time -> TimestamptzSqlite,
        amr -> Json,
        issuer -> Text,
        created_at -> TimestamptzSqlite,
        expires_at -> TimestamptzSqlite,
        redeemed_at -> Nullable<TimestamptzSqlite>,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_grants (session_id) {
        session_id -> Text,
        tenant_id -> Text,
        client_id -> Text,
        user_id -> Text,
        browser_session_id -> Text,
        scope -> Json,
        auth_time -> TimestamptzSqlite,
        amr -> Json,
        issuer -> Text,
        created_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        tenant_id -> Text,
        seq -> BigInt,
        at -> TimestamptzSqlite,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        outcome -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_queue (queued) {
        queued -> BigInt,
        id -> Text,
        tenant_id -> Text,
        at -> TimestamptzSqlite,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        outcome -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    audit_heads (tenant_id) {
        tenant_id -> Text,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    platform_admins (user_id) {
        user_id -> Text,
        tenant_id -> Text,
        granted_at -> TimestamptzSqlite,
    }
}

diesel::allow_tables_to_appear_in_same_query!(platform_admins, users);

diesel::table! {
    projects (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        name_key -> Text,
        slug -> Text,
        description -> Text,
        status -> Text,
        visibility -> Text,
        tags -> Json,
        settings -> Json,
        owner_id -> Text,
        version -> BigInt,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
        archived_at -> Nullable<TimestamptzSqlite>,
        deleted_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> Text,
        user_id -> Text,
        tenant_id -> Text,
        role -> Text,
        added_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    project_versions (project_id, version) {
        project_id -> Text,
        version -> BigInt,
        tenant_id -> Text,
        snapshot -> Json,
        changed -> Json,
        actor_id -> Nullable<Text>,
        at -> TimestamptzSqlite,
    }
}

diesel::allow_tables_to_appear_in_same_query!(projects, project_members);

diesel::table! {
    idempotency_keys (tenant_id, user_id, scope, key) {
        tenant_id -> Text,
        user_id -> Text,
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        resource_id -> Text,
        created_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        occurred_at -> TimestamptzSqlite,
        actor_id -> Nullable<Text>,
        payload -> Text,
        relayed_at -> Nullable<TimestamptzSqlite>,
        triggered_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    workflows (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        status -> Text,
        version -> BigInt,
        created_by -> Nullable<Text>,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
        deleted_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    workflow_versions (workflow_id, version) {
        workflow_id -> Text,
        version -> BigInt,
        tenant_id -> Text,
        definition -> Json,
        created_by -> Nullable<Text>,
        created_at -> TimestamptzSqlite,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    workflows,
    workflow_versions,
    workflow_triggers,
    tenants
);

diesel::table! {
    workflow_executions (id) {
        id -> Text,
        tenant_id -> Text,
        workflow_id -> Text,
        version -> BigInt,
        status -> Text,
        inputs -> Json,
        output -> Nullable<Json>,
        error -> Nullable<Text>,
        trigger -> Text,
        started_by -> Nullable<Text>,
        created_at -> TimestamptzSqlite,
        started_at -> Nullable<TimestamptzSqlite>,
        finished_at -> Nullable<TimestamptzSqlite>,
        deadline -> Nullable<TimestamptzSqlite>,
        concurrency_key -> Nullable<Text>,
        concurrency_limit -> Nullable<Integer>,
        queued -> Bool,
        projects -> Json,
    }
}

diesel::table! {
    workflow_step_runs (execution_id, step_id) {
        execution_id -> Text,
        step_id -> Text,
        position -> Integer,
        kind -> Text,
        status -> Text,
        attempts -> Integer,
        output -> Nullable<Json>,
        error -> Nullable<Text>,
        skip -> Nullable<Text>,
        state -> Nullable<Json>,
        ready_at -> Nullable<TimestamptzSqlite>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<TimestamptzSqlite>,
        started_at -> Nullable<TimestamptzSqlite>,
        finished_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    workflow_timeline (id) {
        id -> Text,
        execution_id -> Text,
        at -> TimestamptzSqlite,
        step_id -> Nullable<Text>,
        status -> Text,
        attempt -> Nullable<Integer>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    workflow_tasks (id) {
        id -> Text,
        tenant_id -> Text,
        execution_id -> Text,
        workflow_id -> Text,
        step_id -> Text,
        attempt -> Integer,
        status -> Text,
        assignee_user -> Nullable<Text>,
        assignee_role -> Nullable<Text>,
        title -> Text,
        description -> Nullable<Text>,
        form -> Nullable<Json>,
        due_at -> Nullable<TimestamptzSqlite>,
        data -> Nullable<Json>,
        completed_by -> Nullable<Text>,
        completed_at -> Nullable<TimestamptzSqlite>,
        created_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    workflow_triggers (workflow_id, position) {
        workflow_id -> Text,
        position -> Integer,
        tenant_id -> Text,
        kind -> Text,
        event -> Nullable<Text>,
        next_fire_at -> Nullable<TimestamptzSqlite>,
        active_since -> TimestamptzSqlite,
    }
}

diesel::table! {
    workflow_trigger_starts (workflow_id, key) {
        workflow_id -> Text,
        key -> Text,
        execution_id -> Text,
    }
}

diesel::joinable!(workflow_step_runs -> workflow_executions (execution_id));
diesel::joinable!(workflow_triggers -> workflows (workflow_id));
diesel::allow_tables_to_appear_in_same_query!(workflow_executions, workflow_step_runs);

diesel::table! {
    tenant_quotas (tenant_id) {
        tenant_id -> Text,
        running_executions -> Nullable<Integer>,
        steps_in_flight -> Nullable<Integer>,
        starts_per_minute -> Nullable<Integer>,
        starts_per_event -> Nullable<Integer>,
        definition_steps -> Nullable<Integer>,
        step_timeout_secs -> Nullable<BigInt>,
        event_steps -> Nullable<Integer>,
        updated_at -> TimestamptzSqlite,
    }
}
