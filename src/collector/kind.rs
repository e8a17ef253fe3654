//! [`CollectorKind`]: the collectors by name, as flags and the `collector` label spell them.

/// The collectors, switched on and off with `--collector.NAME` / `--no-collector.NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CollectorKind {
    /// Commercial usage endpoint: customer × product × workload.
    Usage,
    /// Commercial deployment endpoint: customer × product.
    Deployment,
    /// Legacy partner-level deployment per service.
    PartnerDeployment,
    /// Legacy partner-level usage per service and workload.
    PartnerUsage,
    /// Legacy per-customer usage, fanned out over `/v1/customers`.
    CustomerUsage,
    /// Legacy per-customer deployment, fanned out over `/v1/customers`.
    CustomerDeployment,
}

impl CollectorKind {
    /// Every collector, in display order.
    pub const ALL: [CollectorKind; 6] = [
        CollectorKind::Usage,
        CollectorKind::Deployment,
        CollectorKind::PartnerDeployment,
        CollectorKind::PartnerUsage,
        CollectorKind::CustomerUsage,
        CollectorKind::CustomerDeployment,
    ];

    /// The name used in flags and in the `collector` label.
    pub fn name(self) -> &'static str {
        match self {
            CollectorKind::Usage => "usage",
            CollectorKind::Deployment => "deployment",
            CollectorKind::PartnerDeployment => "partner-deployment",
            CollectorKind::PartnerUsage => "partner-usage",
            CollectorKind::CustomerUsage => "customer-usage",
            CollectorKind::CustomerDeployment => "customer-deployment",
        }
    }

    /// The collector of this name, as flags and the `collector` label spell it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether the collector fans out over `/v1/customers`: only these have customer errors,
    /// and the ones due together share one customer list.
    pub fn is_per_customer(self) -> bool {
        matches!(
            self,
            CollectorKind::CustomerUsage | CollectorKind::CustomerDeployment
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collector_is_found_by_its_name() {
        for kind in CollectorKind::ALL {
            assert_eq!(CollectorKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(CollectorKind::from_name("nonsense"), None);
    }
}
