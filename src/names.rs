//! Validation of the names an operator types: org names (DNS labels) and domains (FQDNs).

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "{what} {value:?} is not a DNS label: use 1-63 characters from a-z, 0-9 and '-', not starting or ending with '-' (for example \"acme\")"
    )]
    NotALabel { what: &'static str, value: String },
    #[error(
        "domain {value:?} is not a fully qualified DNS name: give at least two labels of a-z, 0-9 and '-' separated by dots, at most 253 characters, no trailing dot (for example \"chat.acme.example\")"
    )]
    NotAnFqdn { value: String },
}

/// A DNS label as used for org and host names: lower case only, so that names are the same in
/// DNS, Nix attribute names and file names.
pub fn validate_dns_label(what: &'static str, value: &str) -> Result<(), NameError> {
    if is_dns_label(value) {
        Ok(())
    } else {
        Err(NameError::NotALabel {
            what,
            value: value.to_owned(),
        })
    }
}

pub fn validate_fqdn(value: &str) -> Result<(), NameError> {
    let labels: Vec<&str> = value.split('.').collect();
    let last_is_numeric = labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()));
    if value.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| is_dns_label(l))
        && !last_is_numeric
    {
        Ok(())
    } else {
        Err(NameError::NotAnFqdn {
            value: value.to_owned(),
        })
    }
}

fn is_dns_label(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for good in ["a", "acme", "acme-2", "0org", &"x".repeat(63)] {
            assert_eq!(validate_dns_label("org", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "acme-",
            "Acme",
            "ac_me",
            "ac.me",
            "äcme",
            &"x".repeat(64),
        ] {
            assert!(validate_dns_label("org", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fqdns() {
        for good in ["example.test", "acme.example", "chat.acme.co.uk", "a1.b2"] {
            assert_eq!(validate_fqdn(good), Ok(()), "{good}");
        }
        for bad in [
            "localhost",
            "example.test.",
            ".example",
            "a..b",
            "exa_mple.test",
            "10.0.0.1",
            "EXAMPLE.test",
        ] {
            assert!(validate_fqdn(bad).is_err(), "{bad}");
        }
        assert!(validate_fqdn(&format!("{}.test", vec!["a".repeat(63); 4].join("."))).is_err());
    }
}
