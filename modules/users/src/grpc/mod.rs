//! The users contract over gRPC: the messages of `users-api/proto/users.proto`, and the
//! conversions between them and the contract's types. `server` serves any implementation
//! of the contract; `client` is the contract over a peer.
//!
//! The tests round-trip every type and every error variant of the contract through its
//! message, so the `.proto` file and the contract cannot drift apart.

pub(crate) mod client;
pub(crate) mod server;

use runtime::grpc::vocab::{self as wire, id, time, timestamp, Undecodable};
use users_api::{NewUser, User, UsersError};
use vocab::page::Page;
use vocab::Problem;

#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
pub(crate) mod proto {
    tonic::include_proto!("cleave.users.v1");
}

/// The service's full name.
pub(crate) const SERVICE: &str = "cleave.users.v1.Users";
/// `users.proto` compiled, with what it imports.
pub(crate) const DESCRIPTOR: &[u8] = tonic::include_file_descriptor_set!("users");

impl From<NewUser> for proto::NewUser {
    fn from(new: NewUser) -> Self {
        Self {
            email: new.email,
            name: new.name,
        }
    }
}

impl From<proto::NewUser> for NewUser {
    fn from(new: proto::NewUser) -> Self {
        Self {
            email: new.email,
            name: new.name,
        }
    }
}

impl From<User> for proto::User {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email,
            name: user.name,
            created_at: Some(timestamp(user.created_at)),
        }
    }
}

fn user(user: proto::User) -> Result<User, Undecodable> {
    Ok(User {
        id: id(&user.id)?,
        email: user.email,
        name: user.name,
        created_at: time(user.created_at)?,
    })
}

impl From<Page<User>> for proto::UserPage {
    fn from(page: Page<User>) -> Self {
        Self {
            data: page.data.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

fn page(page: proto::UserPage) -> Result<Page<User>, Undecodable> {
    Ok(Page {
        data: page.data.into_iter().map(user).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

impl From<UsersError> for proto::UsersError {
    fn from(err: UsersError) -> Self {
        use proto::users_error::Kind;
        let kind = match err {
            UsersError::NotFound => Kind::NotFound(wire::Empty {}),
            UsersError::DuplicateEmail => Kind::DuplicateEmail(wire::Empty {}),
            UsersError::Invalid(errors) => Kind::Invalid(wire::invalid(errors)),
            UsersError::Other(problem) => Kind::Other(problem.into()),
        };
        Self { kind: Some(kind) }
    }
}

fn error(err: proto::UsersError) -> Result<UsersError, Undecodable> {
    use proto::users_error::Kind;
    Ok(match err.kind {
        Some(Kind::NotFound(_)) => UsersError::NotFound,
        Some(Kind::DuplicateEmail(_)) => UsersError::DuplicateEmail,
        Some(Kind::Invalid(invalid)) => UsersError::Invalid(invalid.into()),
        Some(Kind::Other(problem)) => UsersError::Other(Problem::from(problem)),
        None => return Err(Undecodable("an error of no kind".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use prost::Message;
    use uuid::Uuid;
    use vocab::FieldError;

    /// `message` encoded and decoded, as it crosses the wire.
    fn wire<M: Message + Default>(message: M) -> M {
        M::decode(message.encode_to_vec().as_slice()).unwrap()
    }

    fn a_user() -> User {
        User {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            name: "Ada Lovelace".into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn users_and_their_pages_survive_the_wire() {
        let sent = a_user();
        assert_eq!(user(wire(proto::User::from(sent.clone()))).unwrap(), sent);
        let new = NewUser::from(wire(proto::NewUser::from(NewUser {
            email: "ada@example.com".into(),
            name: "Ada".into(),
        })));
        assert_eq!(
            (new.email.as_str(), new.name.as_str()),
            ("ada@example.com", "Ada")
        );
        let sent = Page {
            data: vec![a_user(), a_user()],
            next_cursor: None,
        };
        let back = page(wire(proto::UserPage::from(sent.clone()))).unwrap();
        assert_eq!((back.data, back.next_cursor), (sent.data, sent.next_cursor));
        let broken = proto::User {
            id: "ada".into(),
            ..a_user().into()
        };
        assert!(user(broken).is_err());
    }

    #[test]
    fn every_error_variant_survives_the_wire() {
        let errors = [
            UsersError::NotFound,
            UsersError::DuplicateEmail,
            UsersError::Invalid(vec![FieldError::new("email", "is not an address")]),
            UsersError::Other(Problem::unavailable("the users module cannot be reached")),
        ];
        for sent in errors {
            let back = error(wire(proto::UsersError::from(sent.clone()))).unwrap();
            // Each variant maps to one problem, so equal problems mean equal variants.
            assert_eq!(
                serde_json::to_value(Problem::from(back.clone())).unwrap(),
                serde_json::to_value(Problem::from(sent.clone())).unwrap(),
                "{sent:?} came back as {back:?}"
            );
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&sent));
        }
        assert!(error(proto::UsersError::default()).is_err());
    }
}
