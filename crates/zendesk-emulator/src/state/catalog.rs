//! What an admin configures rather than what calls create: organizations, ticket
//! fields and ticket forms.

use crate::error::ApiError;
use crate::model::{Organization, TicketField, TicketForm};
use crate::seed::{SeedTicketField, SeedTicketForm};

use super::{Store, now, take};

impl Store {
    /// `POST /organizations`: names are unique per account, without case.
    pub(crate) fn create_organization(
        &mut self,
        name: Option<String>,
        external_id: Option<String>,
        domain_names: Vec<String>,
        tags: Vec<String>,
    ) -> Result<u64, ApiError> {
        let name = name.unwrap_or_default();
        if name.trim().is_empty() {
            return Err(ApiError::invalid(
                "name",
                "Name: cannot be blank",
                "BlankValue",
            ));
        }
        if self
            .organizations
            .values()
            .any(|organization| organization.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::invalid(
                "name",
                "Name: has already been taken",
                "DuplicateValue",
            ));
        }
        let id = take(&mut self.next.organization);
        let at = now();
        self.organizations.insert(
            id,
            Organization {
                id,
                name,
                external_id,
                domain_names,
                tags,
                created_at: at,
                updated_at: at,
            },
        );
        Ok(id)
    }

    pub(crate) fn seed_ticket_field(&mut self, seed: SeedTicketField) -> u64 {
        let at = now();
        let position = u64::try_from(self.ticket_fields.len()).unwrap_or(u64::MAX);
        let mut options = seed.options;
        for option in &mut options {
            if option.id == 0 {
                option.id = take(&mut self.next.field_option);
            }
        }
        self.ticket_fields.insert(
            seed.id,
            TicketField {
                id: seed.id,
                field_type: seed.field_type,
                title: seed.title,
                description: seed.description,
                active: seed.active,
                required: seed.required,
                position,
                options,
                created_at: at,
                updated_at: at,
            },
        );
        seed.id
    }

    pub(crate) fn seed_ticket_form(&mut self, seed: SeedTicketForm) -> u64 {
        let at = now();
        let position = u64::try_from(self.ticket_forms.len()).unwrap_or(u64::MAX);
        self.ticket_forms.insert(
            seed.id,
            TicketForm {
                id: seed.id,
                name: seed.name,
                ticket_field_ids: seed.ticket_field_ids,
                active: seed.active,
                default: seed.default,
                end_user_visible: true,
                position,
                created_at: at,
                updated_at: at,
            },
        );
        seed.id
    }
}
