//! The actix-web inbound adapter: routes, error mapping and middleware.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod authenticated;
pub mod body;
pub mod client_address;
pub mod client_limit;
pub mod consents;
pub mod docs;
pub mod document;
pub mod executions;
pub mod exposure;
pub mod external_apis;
pub mod health;
pub mod jwks;
pub mod lifecycle;
pub mod metrics;
pub mod metrics_registry;
pub mod mfa;
pub mod numbers;
pub mod oauth_clients;
pub mod oidc;
pub mod openapi_responses;
pub mod origin;
pub mod own_tenant;
pub mod passkeys;
pub mod permission_checks;
pub mod platform_tenants;
pub mod problem;
pub mod process_stats;
pub mod project_bulk;
pub mod project_members;
pub mod project_schemas;
pub mod project_versions;
pub mod projects;
pub mod quotas;
pub mod recovery;
pub mod request_context;
pub mod roles;
pub mod schema_types;
pub mod server;
pub mod sessions;
pub mod state;
pub mod tasks;
pub mod tls;
pub mod user_view;
pub mod users;
pub mod valid;
pub mod workflows;

use actix_http::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App};

use crate::http::state::AppState;

/// The whole application: state, body limits, the route table (normally [`routes`]) and
/// middleware. HTTP tests pass `routes` plus extra routes and so run exactly the server's stack.
pub fn build_app(
    state: AppState,
    max_body_bytes: usize,
    routes: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(max_body_bytes)
                .error_handler(problem::json_error),
        )
        .app_data(web::PayloadConfig::new(max_body_bytes))
        .app_data(web::QueryConfig::default().error_handler(problem::query_error))
        .app_data(web::PathConfig::default().error_handler(problem::path_error))
        .configure(routes)
        .default_service(web::to(problem::not_found))
        .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem_body))
        .wrap(from_fn(request_context::request_context))
}

/// Every route, in one table.
#[allow(clippy::too_many_lines)] // one list of every route is the point: grep it, read it
pub fn routes(cfg: &mut web::ServiceConfig) {
    oidc::routes(cfg);
    // Probes also answer HEAD (some load balancers probe that way); actix sends no body.
    cfg.service(
        resource("/health", "GET, HEAD")
            .route(web::get().to(health::health))
            .route(web::head().to(health::health)),
    )
    .service(
        resource("/health/live", "GET, HEAD")
            .route(web::get().to(health::live))
            .route(web::head().to(health::live)),
    )
    .service(
        resource("/health/ready", "GET, HEAD")
            .route(web::get().to(health::ready))
            .route(web::head().to(health::ready)),
    )
    .service(resource("/health/detailed", "GET").route(web::get().to(health::detailed)))
    .service(resource("/metrics", "GET").route(web::get().to(metrics::metrics)))
    .service(resource("/.well-known/jwks.json", "GET").route(web::get().to(jwks::jwks)))
    .service(resource("/api/v1/auth/login", "POST").route(web::post().to(auth::login)))
    .service(resource("/api/v1/auth/refresh", "POST").route(web::post().to(auth::refresh)))
    .service(resource("/api/v1/auth/logout", "POST").route(web::post().to(auth::logout)))
    .service(resource("/api/v1/auth/register", "POST").route(web::post().to(auth::register)))
    .service(
        resource("/api/v1/auth/password/forgot", "POST").route(web::post().to(recovery::forgot)),
    )
    .service(resource("/api/v1/auth/password/reset", "POST").route(web::post().to(recovery::reset)))
    .service(
        resource("/api/v1/auth/verify-email", "POST").route(web::post().to(recovery::verify_email)),
    )
    .service(
        resource("/api/v1/auth/verify-email/send", "POST")
            .route(web::post().to(recovery::send_verification)),
    )
    .service(resource("/api/v1/auth/mfa/verify", "POST").route(web::post().to(mfa::verify)))
    .service(resource("/api/v1/auth/mfa/totp/enroll", "POST").route(web::post().to(mfa::enroll)))
    .service(resource("/api/v1/auth/mfa/totp/confirm", "POST").route(web::post().to(mfa::confirm)))
    .service(resource("/api/v1/auth/mfa/totp", "DELETE").route(web::delete().to(mfa::disable)))
    .service(
        resource("/api/v1/auth/mfa/recovery-codes", "POST").route(web::post().to(mfa::regenerate)),
    )
    .service(
        resource("/api/v1/auth/password/change", "POST")
            .route(web::post().to(auth::change_password)),
    )
    .service(
        resource("/api/v1/users/profile", "GET, POST, PATCH")
            .route(web::get().to(users::get_profile))
            .route(web::post().to(users::update_profile))
            .route(web::patch().to(users::patch_profile)),
    )
    .service(
        resource("/api/v1/users", "GET, POST")
            .route(web::get().to(users::list))
            .route(web::post().to(users::create)),
    )
    .service(resource("/api/v1/users/lookup", "POST").route(web::post().to(users::lookup)))
    .service(
        resource("/api/v1/users/import", "POST")
            .app_data(
                web::JsonConfig::default()
                    .limit(users::IMPORT_BODY_LIMIT)
                    .error_handler(problem::json_error),
            )
            .route(web::post().to(users::import)),
    )
    .service(
        resource("/api/v1/users/{user_id}", "GET, PATCH, DELETE")
            .route(web::get().to(users::get))
            .route(web::patch().to(users::update))
            .route(web::delete().to(users::delete)),
    )
    .service(
        resource("/api/v1/roles", "GET, POST")
            .route(web::get().to(roles::list))
            .route(web::post().to(roles::create)),
    )
    .service(
        resource("/api/v1/roles/{role_id}", "GET, PUT, DELETE")
            .route(web::get().to(roles::get))
            .route(web::put().to(roles::update))
            .route(web::delete().to(roles::delete)),
    )
    .service(resource("/api/v1/users/{user_id}/roles", "PUT").route(web::put().to(roles::assign)))
    .service(
        resource("/api/v1/oauth/clients", "GET, POST")
            .route(web::get().to(oauth_clients::list))
            .route(web::post().to(oauth_clients::create)),
    )
    .service(
        resource("/api/v1/oauth/clients/{client_id}", "GET, PUT, DELETE")
            .route(web::get().to(oauth_clients::get))
            .route(web::put().to(oauth_clients::update))
            .route(web::delete().to(oauth_clients::delete)),
    )
    .service(
        resource("/api/v1/oauth/clients/{client_id}/secret", "POST")
            .route(web::post().to(oauth_clients::rotate_secret)),
    )
    .service(
        resource("/api/v1/authz/check", "POST").route(web::post().to(permission_checks::check)),
    )
    .service(
        resource("/api/v1/authz/check-batch", "POST")
            .route(web::post().to(permission_checks::check_batch)),
    )
    .service(resource("/api/v1/analytics/users", "GET").route(web::get().to(analytics::users)))
    .service(
        resource("/api/v1/analytics/projects", "GET").route(web::get().to(analytics::projects)),
    )
    .service(
        resource("/api/v1/analytics/workflows", "GET").route(web::get().to(analytics::workflows)),
    )
    .service(
        resource("/api/v1/projects", "GET, POST")
            .route(web::get().to(projects::list))
            .route(web::post().to(projects::create)),
    )
    .service(resource("/api/v1/projects/bulk", "POST").route(web::post().to(project_bulk::bulk)))
    .service(
        resource("/api/v1/projects/{project_id}", "GET, PUT, PATCH, DELETE")
            .route(web::get().to(projects::get))
            .route(web::put().to(projects::replace))
            .route(web::patch().to(projects::patch))
            .route(web::delete().to(projects::delete)),
    )
    .service(
        resource("/api/v1/projects/{project_id}/archive", "POST")
            .route(web::post().to(projects::archive)),
    )
    .service(
        resource("/api/v1/projects/{project_id}/unarchive", "POST")
            .route(web::post().to(projects::unarchive)),
    )
    .service(
        resource("/api/v1/projects/{project_id}/members", "GET, POST")
            .route(web::get().to(project_members::list))
            .route(web::post().to(project_members::add)),
    )
    .service(
        resource(
            "/api/v1/projects/{project_id}/members/{user_id}",
            "PATCH, DELETE",
        )
        .route(web::patch().to(project_members::change))
        .route(web::delete().to(project_members::remove)),
    )
    .service(
        resource("/api/v1/projects/{project_id}/versions", "GET")
            .route(web::get().to(project_versions::list)),
    )
    .service(
        resource("/api/v1/projects/{project_id}/versions/{version}", "GET")
            .route(web::get().to(project_versions::get)),
    )
    .service(
        resource(
            "/api/v1/projects/{project_id}/versions/{version}/diff",
            "GET",
        )
        .route(web::get().to(project_versions::diff)),
    )
    .service(
        resource(
            "/api/v1/projects/{project_id}/versions/{version}/restore",
            "POST",
        )
        .route(web::post().to(project_versions::restore)),
    )
    .service(
        resource("/api/v1/workflows", "GET, POST")
            .route(web::get().to(workflows::list))
            .route(web::post().to(workflows::create)),
    )
    .service(
        resource("/api/v1/workflows/{workflow_id}", "GET, PUT, DELETE")
            .route(web::get().to(workflows::get))
            .route(web::put().to(workflows::replace))
            .route(web::delete().to(workflows::delete)),
    )
    .service(
        resource("/api/v1/workflows/{workflow_id}/pause", "POST")
            .route(web::post().to(workflows::pause)),
    )
    .service(
        resource("/api/v1/workflows/{workflow_id}/resume", "POST")
            .route(web::post().to(workflows::resume)),
    )
    .service(
        resource("/api/v1/workflows/{workflow_id}/executions", "GET, POST")
            .route(web::get().to(executions::list))
            .route(web::post().to(executions::start)),
    )
    .service(
        resource("/api/v1/executions/{execution_id}", "GET").route(web::get().to(executions::get)),
    )
    .service(
        resource("/api/v1/executions/{execution_id}/cancel", "POST")
            .route(web::post().to(executions::cancel)),
    )
    .service(
        resource("/api/v1/executions/{execution_id}/retry", "POST")
            .route(web::post().to(executions::retry)),
    )
    .service(
        resource("/api/v1/executions/{execution_id}/timeline", "GET")
            .route(web::get().to(executions::timeline)),
    )
    .service(resource("/api/v1/tasks", "GET").route(web::get().to(tasks::list)))
    .service(resource("/api/v1/tasks/{task_id}", "GET").route(web::get().to(tasks::get)))
    .service(
        resource("/api/v1/tasks/{task_id}/complete", "POST").route(web::post().to(tasks::complete)),
    )
    .service(
        resource("/api/v1/workflows/{workflow_id}/versions", "GET")
            .route(web::get().to(workflows::versions)),
    )
    .service(
        resource("/api/v1/workflows/{workflow_id}/versions/{version}", "GET")
            .route(web::get().to(workflows::version)),
    )
    .service(resource("/api/v1/audit", "GET").route(web::get().to(audit::list)))
    .service(resource("/api/v1/audit/verify", "GET").route(web::get().to(audit::verify)))
    .service(resource("/api/v1/audit/export", "GET").route(web::get().to(audit::export)))
    .service(resource("/api/v1/tenant", "GET").route(web::get().to(own_tenant::get)))
    .service(
        resource("/api/v1/tenants", "GET, POST")
            .route(web::get().to(platform_tenants::list))
            .route(web::post().to(platform_tenants::create)),
    )
    .service(
        resource("/api/v1/tenants/{tenant_id}", "GET, PATCH")
            .route(web::get().to(platform_tenants::get))
            .route(web::patch().to(platform_tenants::update)),
    )
    .service(
        resource("/api/v1/tenant/settings", "PATCH")
            .route(web::patch().to(own_tenant::update_settings)),
    )
    .service(resource("/api/v1/tenant/quotas", "GET").route(web::get().to(quotas::own)))
    .service(
        resource("/api/v1/tenants/{tenant_id}/quotas", "GET, PUT")
            .route(web::get().to(quotas::get))
            .route(web::put().to(quotas::set)),
    )
    .service(
        resource("/api/v1/auth/passkeys", "GET, POST")
            .route(web::get().to(passkeys::list))
            .route(web::post().to(passkeys::finish)),
    )
    .service(
        resource("/api/v1/auth/passkeys/registration", "POST")
            .route(web::post().to(passkeys::begin)),
    )
    .service(
        resource("/api/v1/auth/passkeys/sign-in", "POST")
            .route(web::post().to(passkeys::begin_sign_in)),
    )
    .service(
        resource("/api/v1/auth/login/passkey", "POST").route(web::post().to(passkeys::sign_in)),
    )
    .service(
        resource("/api/v1/auth/passkeys/{passkey_id}", "PATCH, DELETE")
            .route(web::patch().to(passkeys::rename))
            .route(web::delete().to(passkeys::remove)),
    )
    .service(resource("/api/v1/auth/consents", "GET").route(web::get().to(consents::list)))
    .service(
        resource("/api/v1/auth/consents/{client_id}", "DELETE")
            .route(web::delete().to(consents::withdraw)),
    )
    .service(resource("/api/v1/auth/sessions", "GET").route(web::get().to(sessions::list)))
    .service(
        resource("/api/v1/auth/sessions/{session_id}", "DELETE")
            .route(web::delete().to(sessions::revoke)),
    )
    .service(
        resource("/api/v1/auth/logout-all", "POST").route(web::post().to(sessions::logout_all)),
    )
    .service(resource("/openapi.json", "GET").route(web::get().to(docs::openapi_json)))
    .service(resource("/docs", "GET").route(web::get().to(docs::docs_page)));
}

/// A resource that answers a method it does not serve with 405 and its `Allow` list (the
/// app-wide default would otherwise make it a 404).
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: actix_web::HttpRequest| async move {
        problem::method_not_allowed(&req, allow)
    }))
}
