//! What makes a user acceptable. Input is parsed into these types at the edge of the
//! module; past that point an `Email` is known to be well-formed.

use vocab::FieldError;

/// A syntactically plausible email address. Deliverability is not checked: only a mail
/// could tell, and that is not this module's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email(String);

impl Email {
    const MAX_LEN: usize = 254;

    pub(crate) fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = |why: &str| FieldError::new("email", why);
        if raw.chars().count() > Self::MAX_LEN {
            return Err(invalid("must be at most 254 characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(invalid("must be an address such as ada@example.com"));
        };
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid("must be an address such as ada@example.com"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The form in which two addresses that differ only in case are equal.
    pub(crate) fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A display name: not blank, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name(String);

impl Name {
    const MAX_CHARS: usize = 200;

    pub(crate) fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("name", "must not be blank"));
        }
        // Counted as sent, spaces included: the published schema bounds the value the
        // client sends, and the two must agree.
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("name", "must be at most 200 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_keys_them_case_insensitively() {
        let email = Email::parse("Ada.Lovelace+shop@Example.com").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace+shop@Example.com");
        assert_eq!(email.key(), "ada.lovelace+shop@example.com");
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@example..com",
            "ada@.example.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(Name::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse("Ada\u{0}").is_err());
    }
}
