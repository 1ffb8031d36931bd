//! Raw serde shapes → validated model. Each function records every
//! problem in the [`Ctx`] with its field path and returns `None` when
//! the resource has errors.

mod bgp;
mod filter;
mod inventory;
mod k8s;

use std::net::IpAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::error::FieldError;
use crate::model::SecretKeyRef;
use crate::raw::{self, RawAsn};
use crate::selector::Selector;
use crate::types::{Asn, Cidr, parse_go_duration};

pub(crate) use bgp::{bgp_configuration, bgp_peer};
pub(crate) use filter::bgp_filter;
pub(crate) use inventory::{block_affinity, ip_pool, k8s_node, node, secret};
pub(crate) use k8s::{endpoint_slice, pod_cidrs, service};

/// Error sink for one resource.
pub(crate) struct Ctx<'a> {
    kind: &'static str,
    pub(super) name: String,
    errors: &'a mut Vec<FieldError>,
    start: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        kind: &'static str,
        name: &str,
        errors: &'a mut Vec<FieldError>,
    ) -> Self {
        let start = errors.len();
        Self {
            kind,
            name: name.to_string(),
            errors,
            start,
        }
    }

    pub(crate) fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            kind: self.kind.to_string(),
            name: self.name.clone(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Whether this resource has recorded no error so far.
    pub(super) fn ok(&self) -> bool {
        self.errors.len() == self.start
    }

    pub(super) fn spec<T: DeserializeOwned + Default>(
        &mut self,
        spec: &Value,
    ) -> T {
        self.section(spec, "spec")
    }

    /// Deserialises `value`, the part of the object at `path` (`""` for
    /// the object itself); errors name the offending key under `path`.
    pub(super) fn section<T: DeserializeOwned + Default>(
        &mut self,
        value: &Value,
        path: &str,
    ) -> T {
        if value.is_null() {
            return T::default();
        }
        match serde_yaml::from_value(value.clone()) {
            Ok(t) => t,
            Err(e) => {
                // serde's message does not carry the path: find the
                // offending keys by parsing them one at a time.
                let mut named = false;
                if let Value::Mapping(map) = value {
                    for (k, v) in map {
                        let mut one = serde_yaml::Mapping::new();
                        one.insert(k.clone(), v.clone());
                        if let Err(e) =
                            serde_yaml::from_value::<T>(Value::Mapping(one))
                        {
                            let key = k.as_str().unwrap_or("?");
                            let field = if path.is_empty() {
                                key.to_string()
                            } else {
                                format!("{path}.{key}")
                            };
                            self.err(&field, e.to_string());
                            named = true;
                        }
                    }
                }
                if !named {
                    let field = if path.is_empty() { "(object)" } else { path };
                    self.err(field, e.to_string());
                }
                T::default()
            }
        }
    }

    pub(super) fn asn(
        &mut self,
        field: &str,
        raw: Option<&RawAsn>,
    ) -> Option<Asn> {
        let r = match raw? {
            RawAsn::Int(n) => Asn::from_integer(i128::from(*n)),
            RawAsn::UInt(n) => Asn::from_integer(i128::from(*n)),
            RawAsn::Str(s) => Asn::parse(s),
            RawAsn::Float(f) => {
                Err(format!("{f} looks like asdot; write it quoted"))
            }
        };
        r.map_err(|m| self.err(field, m)).ok()
    }

    pub(super) fn cidr(
        &mut self,
        field: &str,
        text: &str,
        bare: bool,
    ) -> Option<Cidr> {
        Cidr::parse(text.trim(), bare)
            .map_err(|m| self.err(field, m))
            .ok()
    }

    pub(super) fn ip(&mut self, field: &str, text: &str) -> Option<IpAddr> {
        text.trim()
            .parse()
            .map_err(|_| {
                self.err(field, format!("{text:?} is not an IP address"))
            })
            .ok()
    }

    pub(super) fn selector(
        &mut self,
        field: &str,
        text: Option<&String>,
    ) -> Option<Selector> {
        let text = text.filter(|t| !t.trim().is_empty())?;
        Selector::parse(text)
            .map_err(|e| self.err(field, format!("selector {text:?}: {e}")))
            .ok()
    }

    pub(super) fn duration(
        &mut self,
        field: &str,
        text: Option<&String>,
    ) -> Option<Duration> {
        parse_go_duration(text?)
            .map_err(|m| self.err(field, m))
            .ok()
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        field: &str,
        text: Option<&String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = text.filter(|t| !t.is_empty())?;
        let found = choices.iter().find(|(k, _)| *k == text).map(|c| c.1);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
            let msg = format!("{text:?} is not one of {}", names.join(", "));
            self.err(field, msg);
        }
        found
    }

    pub(super) fn ranged(
        &mut self,
        field: &str,
        n: Option<i64>,
        max: i64,
    ) -> Option<u32> {
        let n = n?;
        if (0..=max).contains(&n) {
            u32::try_from(n).ok()
        } else {
            self.err(field, format!("{n} is outside 0..={max}"));
            None
        }
    }

    pub(super) fn password(
        &mut self,
        field: &str,
        p: Option<&raw::RawPassword>,
    ) -> Option<SecretKeyRef> {
        let r = p?.secret_key_ref.as_ref()?;
        if r.name.is_empty() || r.key.is_empty() {
            self.err(field, "secretKeyRef needs both name and key");
            return None;
        }
        Some(SecretKeyRef {
            name: r.name.clone(),
            key: r.key.clone(),
        })
    }

    pub(super) fn community(&mut self, field: &str, value: &str) -> bool {
        let ok = is_community(value);
        if !ok {
            let msg =
                format!("{value:?} is not a community (aa:nn or aa:nn:mm)");
            self.err(field, msg);
        }
        ok
    }
}

/// `aa:nn` (16-bit parts, RFC 1997) or `aa:nn:mm` (32-bit, RFC 8092).
pub(crate) fn is_community(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    match parts.len() {
        2 => parts.iter().all(|p| p.parse::<u16>().is_ok()),
        3 => parts.iter().all(|p| p.parse::<u32>().is_ok()),
        _ => false,
    }
}
