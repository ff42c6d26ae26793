//! Permission questions other services ask (`POST /api/v1/authz/check`): "may this user do this
//! to that?", answered by the same `Authorizer` every endpoint uses.

use usvc_core::{
    Action, CoreError, Decision, FieldError, Principal, ResourceRef, UserId, UserStatus,
};

use super::UserService;
use crate::tenant_authorizer::NO_SUCH_PROJECT;

/// Resource types a question may name.
pub const RESOURCE_TYPES: [&str; 8] = [
    "tenant",
    "user",
    "role",
    "project",
    "workflow",
    "execution",
    "task",
    "audit",
];

/// Most questions in one batch.
pub const MAX_BATCH: usize = 100;

/// One question, as a caller phrases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Whose permission; the caller when `None`.
    pub user: Option<UserId>,
    /// The action (`projects:write`), from the catalogue.
    pub action: String,
    /// The resource type (one of [`RESOURCE_TYPES`]).
    pub resource_type: String,
    /// One instance, or the tenant-wide question when `None`.
    pub resource_id: Option<String>,
}

/// Checks one question's wording; errors are named under `prefix` (`checks[3].`).
fn parse(
    question: &Question,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<(Action, ResourceRef)> {
    let action = match Action::parse(&question.action) {
        Ok(a) if usvc_core::permissions::ALL.contains(&a) => Some(a),
        _ => {
            errors.push(FieldError {
                field: format!("{prefix}action"),
                message: format!("`{}` is not an action of the catalogue", question.action),
            });
            None
        }
    };
    let kind_ok = RESOURCE_TYPES.contains(&question.resource_type.as_str());
    if !kind_ok {
        errors.push(FieldError {
            field: format!("{prefix}resource.type"),
            message: format!("must be one of {}", RESOURCE_TYPES.join(", ")),
        });
    }
    let id_ok = question
        .resource_id
        .as_ref()
        .is_none_or(|id| !id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control));
    if !id_ok {
        errors.push(FieldError {
            field: format!("{prefix}resource.id"),
            message: "must be 1-200 characters".into(),
        });
    }
    let resource = ResourceRef {
        kind: question.resource_type.clone(),
        id: question.resource_id.clone(),
    };
    action.filter(|_| kind_ok && id_ok).map(|a| (a, resource))
}

impl UserService {
    /// Answers permission questions in order. Asking about another user of the tenant needs
    /// `users:read`; an unknown user (or one of another tenant) is `NotFound`; a user who is
    /// not active is refused everything. Bad wording anywhere rejects the whole batch.
    pub async fn check(
        &self,
        principal: &Principal,
        questions: Vec<Question>,
    ) -> Result<Vec<Decision>, CoreError> {
        if questions.is_empty() || questions.len() > MAX_BATCH {
            return Err(CoreError::invalid(
                "checks",
                format!("must hold 1-{MAX_BATCH} questions"),
            ));
        }
        let mut errors = Vec::new();
        let single = questions.len() == 1;
        let parsed: Vec<_> = questions
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let prefix = if single {
                    String::new()
                } else {
                    format!("checks[{i}].")
                };
                parse(q, &prefix, &mut errors)
            })
            .collect();
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let mut decisions = Vec::with_capacity(questions.len());
        for (question, parsed) in questions.iter().zip(parsed) {
            let Some((action, resource)) = parsed else {
                return Err(CoreError::Internal("unparsed question".into()));
            };
            let subject = match question.user {
                None => principal.clone(),
                Some(id) if id == principal.user => principal.clone(),
                Some(id) => {
                    // `get` asks for `users:read` about another user, scoped to the tenant.
                    let user = self.get(principal, id).await?;
                    if user.status != UserStatus::Active {
                        decisions.push(Decision::deny("the account is not active"));
                        continue;
                    }
                    Principal {
                        user: user.id,
                        tenant: user.tenant_id,
                        session: principal.session,
                        roles: user.roles,
                        origin: principal.origin.clone(),
                    }
                }
            };
            // A project the asker may not read does not exist for them, whoever the question
            // is about: the answer (and its reason) is the one a made-up id gets.
            if resource.kind == "project" && resource.id.is_some() {
                let well_formed = resource
                    .id
                    .as_deref()
                    .is_some_and(|id| id.parse::<usvc_core::ProjectId>().is_ok());
                let visible = well_formed
                    && self
                        .ports
                        .authorizer
                        .check(principal, &usvc_core::permissions::PROJECTS_READ, &resource)
                        .await?
                        .allowed;
                if !visible {
                    decisions.push(Decision::deny(NO_SUCH_PROJECT));
                    continue;
                }
            }
            decisions.push(
                self.ports
                    .authorizer
                    .check(&subject, &action, &resource)
                    .await?,
            );
        }
        Ok(decisions)
    }
}
