//! Kernel answers (docs/plugin-abi.md, "Kernel answers").

use crate::AbiError;

/// What to do with a best route in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RouteAction {
    /// 0: do not install.
    Skip,
    /// 1: install via the next hop.
    Install,
    /// 2: install a blackhole.
    Blackhole,
    /// 3: install via the next hop onlink through `tunl0`.
    Onlink,
}

impl RouteAction {
    /// The action word.
    pub fn code(self) -> u32 {
        match self {
            Self::Skip => 0,
            Self::Install => 1,
            Self::Blackhole => 2,
            Self::Onlink => 3,
        }
    }

    /// The action for a word 0-3.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::Skip),
            1 => Some(Self::Install),
            2 => Some(Self::Blackhole),
            3 => Some(Self::Onlink),
            _ => None,
        }
    }
}

/// The kernel answer for one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KernelAction {
    /// What to install.
    pub action: RouteAction,
    /// Route metric; 0 for the kernel default.
    pub metric: u32,
}

impl KernelAction {
    /// Install via the next hop with the kernel's default metric.
    pub const INSTALL: Self = Self {
        action: RouteAction::Install,
        metric: 0,
    };
}

/// Encodes one answer per route.
pub fn encode_kernel(actions: &[KernelAction]) -> Vec<u32> {
    actions
        .iter()
        .flat_map(|a| [a.action.code(), a.metric])
        .collect()
}

/// Checks a kernel answer for `routes` routes, the same way in every
/// host.
pub fn validate_kernel(
    routes: usize,
    answer: &[u32],
) -> Result<Vec<KernelAction>, AbiError> {
    if answer.len() != routes * 2 {
        return Err(AbiError::AnswerLength {
            what: "kernel",
            expected: routes * 2,
            got: answer.len(),
        });
    }
    answer
        .chunks_exact(2)
        .enumerate()
        .map(|(route, pair)| {
            let action = RouteAction::from_code(pair[0]).ok_or(
                AbiError::KernelAction {
                    route,
                    action: pair[0],
                },
            )?;
            Ok(KernelAction {
                action,
                metric: pair[1],
            })
        })
        .collect()
}
