//! Table definitions for Postgres (the SQLite schema has the same tables and columns).

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        status -> Text,
        settings -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        public_key -> Text,
        sealed_private_key -> Binary,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        email_normalized -> Text,
        email_verified -> Bool,
        display_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        locale -> Nullable<Text>,
        timezone -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        metadata -> Jsonb,
        roles -> Jsonb,
        status -> Text,
        mfa_enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    credentials (user_id) {
        user_id -> Uuid,
        password_hash -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        idle_expires_at -> Timestamptz,
        absolute_expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (hash) {
        hash -> Text,
        session_id -> Uuid,
        created_at -> Timestamptz,
        spent_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(credentials -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, credentials, sessions, refresh_tokens);
diesel::allow_tables_to_appear_in_same_query!(refresh_tokens, oauth_grants);
diesel::allow_tables_to_appear_in_same_query!(sessions, oauth_grants);

diesel::table! {
    login_failures (tenant_id, email_normalized) {
        tenant_id -> Uuid,
        email_normalized -> Text,
        failures -> Integer,
        locked_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> Uuid,
        tenant_id -> Uuid,
        sealed_secret -> Binary,
        confirmed_at -> Nullable<Timestamptz>,
        last_used_step -> BigInt,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    recovery_codes (hash) {
        hash -> Text,
        user_id -> Uuid,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mfa_challenges (hash) {
        hash -> Text,
        tenant_id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        attempts -> Integer,
        consumed_at -> Nullable<Timestamptz>,
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
        tenant_id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        email -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(action_tokens, users);

diesel::table! {
    rate_limits (key, window_start) {
        key -> Text,
        window_start -> Timestamptz,
        hits -> Integer,
    }
}

diesel::table! {
    login_failure_days (tenant_id, day) {
        tenant_id -> Uuid,
        day -> Text,
        failures -> Integer,
    }
}

diesel::table! {
    roles (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        description -> Text,
        permissions -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(roles, users);

diesel::table! {
    oauth_clients (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        kind -> Text,
        auth_method -> Text,
        secret_hash -> Nullable<Text>,
        jwks -> Nullable<Jsonb>,
        redirect_uris -> Jsonb,
        post_logout_redirect_uris -> Jsonb,
        grant_types -> Jsonb,
        scopes -> Jsonb,
        roles -> Jsonb,
        trusted -> Bool,
        id_token_alg -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    oauth_consents (user_id, client_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        client_id -> Uuid,
        scope -> Text,
        granted_at -> Timestamptz,
    }
}

diesel::table! {
    spent_once (kind, key) {
        kind -> Text,
        key -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        credential_id -> Text,
        credential -> Jsonb,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    oauth_codes (hash) {
        hash -> Text,
        tenant_id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        browser_session_id -> Uuid,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        scope -> Jsonb,
        nonce -> Nullable<Text>,
        auth_time -> Timestamptz,
        amr -> Jsonb,
        issuer -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        redeemed_at -> Nullable<Timestamptz>,
        session_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    oauth_grants (session_id) {
        session_id -> Uuid,
        tenant_id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        browser_session_id -> Uuid,
        scope -> Jsonb,
        auth_time -> Timestamptz,
        amr -> Jsonb,
        issuer -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        seq -> Int8,
        at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        session_id -> Nullable<Uuid>,
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
        queued -> Int8,
        id -> Uuid,
        tenant_id -> Uuid,
        at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        session_id -> Nullable<Uuid>,
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
        tenant_id -> Uuid,
        seq -> Int8,
        hash -> Text,
    }
}

diesel::table! {
    platform_admins (user_id) {
        user_id -> Uuid,
        tenant_id -> Uuid,
        granted_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(platform_admins, users);

diesel::table! {
    projects (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        name_key -> Text,
        slug -> Text,
        description -> Text,
        status -> Text,
        visibility -> Text,
        tags -> Jsonb,
        settings -> Jsonb,
        owner_id -> Uuid,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> Uuid,
        user_id -> Uuid,
        tenant_id -> Uuid,
        role -> Text,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    project_versions (project_id, version) {
        project_id -> Uuid,
        version -> Int8,
        tenant_id -> Uuid,
        snapshot -> Jsonb,
        changed -> Jsonb,
        actor_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(projects, project_members);

diesel::table! {
    idempotency_keys (tenant_id, user_id, scope, key) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        resource_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        occurred_at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        payload -> Text,
        relayed_at -> Nullable<Timestamptz>,
        triggered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workflows (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        status -> Text,
        version -> Int8,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workflow_versions (workflow_id, version) {
        workflow_id -> Uuid,
        version -> Int8,
        tenant_id -> Uuid,
        definition -> Jsonb,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
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
        id -> Uuid,
        tenant_id -> Uuid,
        workflow_id -> Uuid,
        version -> Int8,
        status -> Text,
        inputs -> Jsonb,
        output -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        trigger -> Text,
        started_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        deadline -> Nullable<Timestamptz>,
        concurrency_key -> Nullable<Text>,
        concurrency_limit -> Nullable<Integer>,
        queued -> Bool,
        projects -> Jsonb,
    }
}

diesel::table! {
    workflow_step_runs (execution_id, step_id) {
        execution_id -> Uuid,
        step_id -> Text,
        position -> Integer,
        kind -> Text,
        status -> Text,
        attempts -> Integer,
        output -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        skip -> Nullable<Text>,
        state -> Nullable<Jsonb>,
        ready_at -> Nullable<Timestamptz>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workflow_timeline (execution_id, id) {
        id -> Uuid,
        execution_id -> Uuid,
        at -> Timestamptz,
        step_id -> Nullable<Text>,
        status -> Text,
        attempt -> Nullable<Integer>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    workflow_tasks (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        execution_id -> Uuid,
        workflow_id -> Uuid,
        step_id -> Text,
        attempt -> Integer,
        status -> Text,
        assignee_user -> Nullable<Uuid>,
        assignee_role -> Nullable<Text>,
        title -> Text,
        description -> Nullable<Text>,
        form -> Nullable<Jsonb>,
        due_at -> Nullable<Timestamptz>,
        data -> Nullable<Jsonb>,
        completed_by -> Nullable<Uuid>,
        completed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workflow_triggers (workflow_id, position) {
        workflow_id -> Uuid,
        position -> Integer,
        tenant_id -> Uuid,
        kind -> Text,
        event -> Nullable<Text>,
        next_fire_at -> Nullable<Timestamptz>,
        active_since -> Timestamptz,
    }
}

diesel::table! {
    workflow_trigger_starts (workflow_id, key) {
        workflow_id -> Uuid,
        key -> Text,
        execution_id -> Uuid,
    }
}

diesel::joinable!(workflow_step_runs -> workflow_executions (execution_id));
diesel::joinable!(workflow_triggers -> workflows (workflow_id));
diesel::allow_tables_to_appear_in_same_query!(workflow_executions, workflow_step_runs);

diesel::table! {
    tenant_quotas (tenant_id) {
        tenant_id -> Uuid,
        running_executions -> Nullable<Integer>,
        steps_in_flight -> Nullable<Integer>,
        starts_per_minute -> Nullable<Integer>,
        starts_per_event -> Nullable<Integer>,
        definition_steps -> Nullable<Integer>,
        step_timeout_secs -> Nullable<BigInt>,
        event_steps -> Nullable<Integer>,
        updated_at -> Timestamptz,
    }
}
