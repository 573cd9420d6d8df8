//! [`DataKey`]: the validated, hierarchical key that says which tenant owns a row.

use std::fmt;
use std::sync::Arc;

use crate::error::TenancyError;

/// The longest DataKey accepted, in bytes.
pub const MAX_DATA_KEY_LEN: usize = 255;

/// A tenant's DataKey: one or more segments, each `[A-Za-z0-9-]+` followed by `.`.
///
/// Keys are hierarchical: `1.` is the parent of `1.4.`, which is the parent of `1.4.7.`.
/// A tenant whose key is `K` owns the rows whose DataKey starts with `K`
/// (in [`MatchMode::Prefix`](crate::MatchMode::Prefix), the default) or equals `K`
/// (in [`MatchMode::Exact`](crate::MatchMode::Exact)). Because every segment ends with
/// `.`, the key `1.` never matches rows of `10.`.
///
/// A `DataKey` is cheap to clone: it shares its text.
///
/// ```
/// use sea_orm_tenancy::DataKey;
///
/// let parent = DataKey::new("1.")?;
/// let child = DataKey::new("1.4.")?;
/// assert!(parent.contains(&child));
/// assert!(!child.contains(&parent));
/// assert!(!parent.contains(&DataKey::new("10.")?));
/// assert_eq!(child.parent(), Some(parent));
/// assert!(DataKey::new("1.4").is_err()); // a segment must end with `.`
/// # Ok::<(), sea_orm_tenancy::TenancyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataKey(Arc<str>);

impl DataKey {
    /// Validates `key` and wraps it.
    ///
    /// Fails with [`TenancyError::InvalidDataKey`] saying why when `key` is empty,
    /// longer than [`MAX_DATA_KEY_LEN`] bytes, has an empty segment, a character outside
    /// `[A-Za-z0-9-.]`, or does not end with `.`.
    ///
    /// ```
    /// use sea_orm_tenancy::DataKey;
    ///
    /// assert_eq!(DataKey::new("acme.eu.")?.as_str(), "acme.eu.");
    /// let err = DataKey::new("acme..").unwrap_err();
    /// assert!(err.to_string().contains("empty segment"));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn new(key: impl AsRef<str>) -> Result<Self, TenancyError> {
        let key = key.as_ref();
        validate(key).map_err(|reason| TenancyError::InvalidDataKey {
            key: key.chars().take(300).collect(),
            reason,
        })?;
        Ok(DataKey(Arc::from(key)))
    }

    /// The key of the system tenant, `0.`: reserved, never handed out by
    /// [`TenantAdmin::create`](crate::lifecycle::TenantAdmin::create), and never deleted
    /// or moved by it. For data that belongs to the platform rather than a customer.
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::system().as_str(), "0.");
    /// ```
    pub fn system() -> DataKey {
        DataKey(Arc::from("0."))
    }

    /// The key of the default tenant, `1.`: what
    /// [`TenantConnection::single_tenant`](crate::TenantConnection::single_tenant) binds
    /// to, for an app without authentication. Reserved too, so that a tenant created
    /// later never inherits its rows.
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::default_tenant().as_str(), "1.");
    /// ```
    pub fn default_tenant() -> DataKey {
        DataKey(Arc::from("1."))
    }

    /// The key as text, e.g. `"1.4."`.
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::new("1.4.")?.as_str(), "1.4.");
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this key or one of its descendants (`other` starts with `self`).
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// let k = DataKey::new("1.")?;
    /// assert!(k.contains(&k));
    /// assert!(k.contains(&DataKey::new("1.4.")?));
    /// assert!(!k.contains(&DataKey::new("12.")?));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn contains(&self, other: &DataKey) -> bool {
        other.0.starts_with(&*self.0)
    }

    /// Whether the raw DataKey value `value` (as stored in a row) belongs to this key
    /// under `mode`.
    ///
    /// ```
    /// # use sea_orm_tenancy::{DataKey, MatchMode};
    /// let k = DataKey::new("1.")?;
    /// assert!(k.matches("1.4.", MatchMode::Prefix));
    /// assert!(!k.matches("1.4.", MatchMode::Exact));
    /// assert!(!k.matches("10.", MatchMode::Prefix));
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn matches(&self, value: &str, mode: crate::MatchMode) -> bool {
        match mode {
            crate::MatchMode::Exact | crate::MatchMode::Distributed => value == &*self.0,
            crate::MatchMode::Prefix => value.starts_with(&*self.0) && validate(value).is_ok(),
        }
    }

    /// The parent key (`1.4.` → `1.`), or `None` for a top-level key.
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::new("1.4.")?.parent(), Some(DataKey::new("1.")?));
    /// assert_eq!(DataKey::new("1.")?.parent(), None);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn parent(&self) -> Option<DataKey> {
        let body = &self.0[..self.0.len() - 1];
        body.rfind('.').map(|i| DataKey(Arc::from(&self.0[..=i])))
    }

    /// The child key with one more segment (`1.` + `4` → `1.4.`).
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::new("1.")?.child("4")?.as_str(), "1.4.");
    /// assert!(DataKey::new("1.")?.child("a.b").is_err());
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn child(&self, segment: &str) -> Result<DataKey, TenancyError> {
        let child = format!("{}{}.", self.0, segment);
        if segment.contains('.') {
            return Err(TenancyError::InvalidDataKey {
                key: child,
                reason: format!("segment {segment:?} contains `.`"),
            });
        }
        DataKey::new(child)
    }

    /// How many segments the key has (`1.4.` has 2).
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::new("1.4.")?.depth(), 2);
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn depth(&self) -> usize {
        self.0.bytes().filter(|b| *b == b'.').count()
    }

    /// The exclusive upper bound of the key's subtree in byte order: the key with its
    /// final `.` replaced by `/`, the next byte. Every value `v` with
    /// `key <= v < upper_bound` (compared bytewise) starts with `key`, and conversely.
    ///
    /// ```
    /// # use sea_orm_tenancy::DataKey;
    /// assert_eq!(DataKey::new("1.4.")?.upper_bound(), "1.4/");
    /// # Ok::<(), sea_orm_tenancy::TenancyError>(())
    /// ```
    pub fn upper_bound(&self) -> String {
        let mut s = String::with_capacity(self.0.len());
        s.push_str(&self.0[..self.0.len() - 1]);
        s.push('/');
        s
    }
}

fn validate(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("a data key cannot be empty".into());
    }
    if key.len() > MAX_DATA_KEY_LEN {
        return Err(format!(
            "a data key is at most {MAX_DATA_KEY_LEN} bytes, this one has {}",
            key.len()
        ));
    }
    if !key.ends_with('.') {
        return Err("a data key must end with `.`".into());
    }
    let mut segment_len = 0usize;
    for (i, c) in key.char_indices() {
        match c {
            '.' if segment_len == 0 => {
                return Err(format!("empty segment at byte {i}"));
            }
            '.' => segment_len = 0,
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' => segment_len += 1,
            other => {
                return Err(format!(
                    "character {other:?} at byte {i} is not allowed (use A-Z, a-z, 0-9 and `-`, each segment ending with `.`)"
                ));
            }
        }
    }
    Ok(())
}

impl fmt::Display for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({:?})", &*self.0)
    }
}

impl AsRef<str> for DataKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DataKey {
    type Err = TenancyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataKey::new(s)
    }
}

impl TryFrom<&str> for DataKey {
    type Error = TenancyError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        DataKey::new(s)
    }
}

impl TryFrom<String> for DataKey {
    type Error = TenancyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DataKey::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_keys_are_accepted() {
        for k in ["1.", "1.4.", "acme.eu.", "a-b.C9.", "x."] {
            assert!(DataKey::new(k).is_ok(), "{k}");
        }
    }

    #[test]
    fn malformed_keys_are_refused_with_a_reason() {
        for (k, why) in [
            ("", "empty"),
            ("1", "end with"),
            (".", "empty segment"),
            ("1..", "empty segment"),
            ("1.%.", "not allowed"),
            ("1. ", "end with"),
            ("ü.", "not allowed"),
            ("1_2.", "not allowed"),
        ] {
            let err = DataKey::new(k).expect_err(k).to_string();
            assert!(err.contains(why), "{k}: {err}");
        }
        let long = "a.".repeat(128);
        assert!(
            DataKey::new(&long)
                .expect_err("too long")
                .to_string()
                .contains("at most 255")
        );
    }

    #[test]
    fn prefix_bounds_cover_exactly_the_subtree() {
        let k = DataKey::new("1.4.").expect("key");
        let hi = k.upper_bound();
        for v in ["1.4.", "1.4.7.", "1.4.zz."] {
            assert!(v >= k.as_str() && v < hi.as_str(), "{v}");
        }
        for v in ["1.", "1.40.", "1.5.", "14.", "1.3.", "1.4"] {
            assert!(!(v >= k.as_str() && v < hi.as_str()), "{v}");
        }
    }
}
