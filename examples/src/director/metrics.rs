//! `/metrics`: the [`Snapshot`] in the Prometheus text format (0.0.4) or OpenMetrics, encoded
//! with `prometheus-client` (a collector over the snapshot, so every series comes from the same
//! moment).
//!
//! Where node_exporter's IPVS collector has a metric, its name and labels are used exactly:
//! `node_ipvs_backend_connections_active`, `node_ipvs_backend_connections_inactive`,
//! `node_ipvs_backend_weight` (labels `local_address`, `local_port`, `remote_address`,
//! `remote_port`, `proto`, `local_mark`; a firewall-mark service has `proto="FWM"`, an empty
//! `local_address`, `local_port="0"` and the mark in eight hexadecimal digits, as
//! `/proc/net/ip_vs` writes it), over every real server in the kernel's entries of the services
//! the director owns; and `node_ipvs_connections_total`, `node_ipvs_incoming_packets_total`,
//! `node_ipvs_outgoing_packets_total`, `node_ipvs_incoming_bytes_total`,
//! `node_ipvs_outgoing_bytes_total` (no labels), which node_exporter reads for the whole
//! kernel and which here are the sums over the owned services. The director's own metrics are
//! under `ipvs_director_`, per real server with the same six labels.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::status::{Health, KernelStats, Snapshot, VirtualServiceStatus, DURATION_BUCKETS};

/// The content type of [`encode`]'s Prometheus text.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of [`encode`]'s OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric's name (as the samples show them) and help, for the README and tests.
pub const METRICS: &[(&str, &str)] = &[
    ("node_ipvs_backend_connections_active", "The current active connections by local and remote address."),
    (
        "node_ipvs_backend_connections_inactive",
        "The current inactive connections by local and remote address.",
    ),
    ("node_ipvs_backend_weight", "The current backend weight by local and remote address."),
    ("node_ipvs_connections_total", "The total number of connections made (owned services)."),
    ("node_ipvs_incoming_packets_total", "The total number of incoming packets (owned services)."),
    ("node_ipvs_outgoing_packets_total", "The total number of outgoing packets (owned services)."),
    ("node_ipvs_incoming_bytes_total", "The total amount of incoming data (owned services)."),
    ("node_ipvs_outgoing_bytes_total", "The total amount of outgoing data (owned services)."),
];

/// Encodes `snapshot`: OpenMetrics when `openmetrics`, else the Prometheus text format.
pub fn encode(snapshot: &Arc<Snapshot>, openmetrics: bool) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(snapshot.clone())));
    let mut out = String::new();
    let r = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
    };
    if r.is_err() {
        out.clear();
    }
    out
}

/// Whether a request's `Accept` header asks for OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

#[derive(Debug)]
struct SnapshotCollector(Arc<Snapshot>);

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        write_all(&self.0, &mut enc)
    }
}

type Labels = Vec<(&'static str, String)>;

/// The labels of a virtual service, as node_exporter's: `local_address`, `local_port`,
/// `proto`, `local_mark`.
fn service_labels(v: &VirtualServiceStatus) -> Labels {
    let mark = v.fwmark.map(|m| format!("{m:08X}")).unwrap_or_default();
    vec![
        ("local_address", v.address.clone().unwrap_or_default()),
        ("local_port", v.port.unwrap_or(0).to_string()),
        ("proto", v.proto.clone()),
        ("local_mark", mark),
    ]
}

/// The labels of a real server of `v`, in node_exporter's order.
fn backend_labels(v: &Labels, ip: &str, port: u16) -> Labels {
    vec![
        v[0].clone(),
        v[1].clone(),
        ("remote_address", ip.to_string()),
        ("remote_port", port.to_string()),
        v[2].clone(),
        v[3].clone(),
    ]
}

fn gauges<V: prometheus_client::encoding::EncodeGaugeValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Labels, V)>,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in series {
        m.encode_family(&labels)?.encode_gauge(&v)?;
    }
    Ok(())
}

/// `name` without `_total` (the encoders add it).
fn counters(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Labels, u64)>,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in series {
        m.encode_family(&labels)?.encode_counter::<NoLabelSet, u64, f64>(&v, None)?;
    }
    Ok(())
}

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    m.encode_counter::<NoLabelSet, u64, f64>(&v, None)
}

fn write_all(s: &Snapshot, enc: &mut DescriptorEncoder) -> fmt::Result {
    let services: Vec<(Labels, &VirtualServiceStatus)> =
        s.virtual_services.iter().map(|v| (service_labels(v), v)).collect();

    // node_exporter's backend metrics: every real server in the kernel's owned entries.
    let mut backends: Vec<(Labels, u32, u32, u32)> = Vec::new();
    for (l, v) in &services {
        for r in &v.real_servers {
            if let (Some(w), Some(a), Some(i)) =
                (r.weight_kernel, r.active_connections, r.inactive_connections)
            {
                backends.push((backend_labels(l, &r.ip, r.port), a, i, w));
            }
        }
        let sorry = v.sorry_server.as_ref().and_then(|s| s.kernel.as_ref());
        for d in sorry.into_iter().chain(&v.unlisted_in_kernel) {
            // A sorry server that is also a real server is listed once.
            if v.real_servers.iter().any(|r| r.address == d.address) {
                continue;
            }
            backends.push((
                backend_labels(l, &d.ip, d.port),
                d.active_connections,
                d.inactive_connections,
                d.weight,
            ));
        }
    }
    gauges(
        enc,
        "node_ipvs_backend_connections_active",
        METRICS[0].1,
        backends.iter().map(|b| (b.0.clone(), b.1)),
    )?;
    gauges(
        enc,
        "node_ipvs_backend_connections_inactive",
        METRICS[1].1,
        backends.iter().map(|b| (b.0.clone(), b.2)),
    )?;
    gauges(enc, "node_ipvs_backend_weight", METRICS[2].1, backends.iter().map(|b| (b.0.clone(), b.3)))?;

    // node_exporter's totals, summed over the owned services.
    let mut total = KernelStats::default();
    for v in &s.virtual_services {
        if let Some(st) = &v.stats {
            total.connections += st.connections;
            total.incoming_packets += st.incoming_packets;
            total.outgoing_packets += st.outgoing_packets;
            total.incoming_bytes += st.incoming_bytes;
            total.outgoing_bytes += st.outgoing_bytes;
        }
    }
    counter(enc, "node_ipvs_connections", METRICS[3].1, total.connections)?;
    counter(enc, "node_ipvs_incoming_packets", METRICS[4].1, total.incoming_packets)?;
    counter(enc, "node_ipvs_outgoing_packets", METRICS[5].1, total.outgoing_packets)?;
    counter(enc, "node_ipvs_incoming_bytes", METRICS[6].1, total.incoming_bytes)?;
    counter(enc, "node_ipvs_outgoing_bytes", METRICS[7].1, total.outgoing_bytes)?;

    // Per service: the kernel's counters and rates, and the live real servers.
    type StatField = fn(&KernelStats) -> u64;
    let service_counters: [(&str, &str, StatField); 5] = [
        ("ipvs_director_service_connections", "Connections the kernel scheduled for the service.", |k| {
            k.connections
        }),
        ("ipvs_director_service_incoming_packets", "Packets in, for the service.", |k| k.incoming_packets),
        ("ipvs_director_service_outgoing_packets", "Packets out, for the service.", |k| k.outgoing_packets),
        ("ipvs_director_service_incoming_bytes", "Bytes in, for the service.", |k| k.incoming_bytes),
        ("ipvs_director_service_outgoing_bytes", "Bytes out, for the service.", |k| k.outgoing_bytes),
    ];
    for (name, help, f) in service_counters {
        counters(
            enc,
            name,
            help,
            services.iter().filter_map(|(l, v)| v.stats.as_ref().map(|k| (l.clone(), f(k)))),
        )?;
    }
    let service_rates: [(&str, &str, StatField); 5] = [
        (
            "ipvs_director_service_connections_per_second",
            "The kernel's estimate of the service's connections per second.",
            |k| k.connections_per_second,
        ),
        (
            "ipvs_director_service_incoming_packets_per_second",
            "The kernel's estimate of the service's packets in per second.",
            |k| k.incoming_packets_per_second,
        ),
        (
            "ipvs_director_service_outgoing_packets_per_second",
            "The kernel's estimate of the service's packets out per second.",
            |k| k.outgoing_packets_per_second,
        ),
        (
            "ipvs_director_service_incoming_bytes_per_second",
            "The kernel's estimate of the service's bytes in per second.",
            |k| k.incoming_bytes_per_second,
        ),
        (
            "ipvs_director_service_outgoing_bytes_per_second",
            "The kernel's estimate of the service's bytes out per second.",
            |k| k.outgoing_bytes_per_second,
        ),
    ];
    for (name, help, f) in service_rates {
        gauges(
            enc,
            name,
            help,
            services.iter().filter_map(|(l, v)| v.stats.as_ref().map(|k| (l.clone(), f(k)))),
        )?;
    }
    gauges(
        enc,
        "ipvs_director_service_in_kernel",
        "Whether the kernel's table holds the service (1) or not (0).",
        services.iter().map(|(l, v)| (l.clone(), u64::from(v.in_kernel))),
    )?;
    gauges(
        enc,
        "ipvs_director_service_live_real_servers",
        "Real servers of the service that are up.",
        services.iter().map(|(l, v)| (l.clone(), v.live as u64)),
    )?;
    gauges(
        enc,
        "ipvs_director_service_real_servers",
        "Real servers configured for the service.",
        services.iter().map(|(l, v)| (l.clone(), v.total as u64)),
    )?;
    gauges(
        enc,
        "ipvs_director_service_live_weight",
        "The sum of the weights of the service's live real servers.",
        services.iter().map(|(l, v)| (l.clone(), v.live_weight)),
    )?;
    gauges(
        enc,
        "ipvs_director_service_sorry_server_active",
        "Whether the service's sorry server is in (1) or out (0); only for services with one.",
        services
            .iter()
            .filter_map(|(l, v)| v.sorry_server.as_ref().map(|s| (l.clone(), u64::from(s.active)))),
    )?;

    // Per real server.
    let reals: Vec<(Labels, &super::status::RealServerStatus)> = services
        .iter()
        .flat_map(|(l, v)| v.real_servers.iter().map(move |r| (backend_labels(l, &r.ip, r.port), r)))
        .collect();
    {
        let mut m = enc.encode_descriptor(
            "ipvs_director_real_server_state",
            "The real server's health: 1 for its state, 0 for the others.",
            None,
            MetricType::Gauge,
        )?;
        for (l, r) in &reals {
            for h in Health::ALL {
                let mut labels = l.clone();
                labels.push(("state", h.name().to_string()));
                m.encode_family(&labels)?.encode_gauge(&u64::from(r.health == h))?;
            }
        }
    }
    gauges(
        enc,
        "ipvs_director_real_server_configured_weight",
        "The real server's weight as configured.",
        reals.iter().map(|(l, r)| (l.clone(), r.weight_configured)),
    )?;
    gauges(
        enc,
        "ipvs_director_real_server_weight",
        "The weight the director wants in the table (0 when quiesced or out).",
        reals.iter().map(|(l, r)| (l.clone(), r.weight_desired.unwrap_or(0))),
    )?;
    gauges(
        enc,
        "ipvs_director_real_server_kernel_weight",
        "The real server's weight in the kernel's table (absent when the kernel does not hold it).",
        reals.iter().filter_map(|(l, r)| r.weight_kernel.map(|w| (l.clone(), w))),
    )?;
    gauges(
        enc,
        "ipvs_director_real_server_in_kernel",
        "Whether the kernel's table holds the real server (1) or not (0).",
        reals.iter().map(|(l, r)| (l.clone(), u64::from(r.weight_kernel.is_some()))),
    )?;
    gauges(
        enc,
        "ipvs_director_real_server_failures_in_a_row",
        "Failed probes in a row (the most of any of its checks).",
        reals.iter().map(|(l, r)| (l.clone(), r.failures)),
    )?;
    counters(
        enc,
        "ipvs_director_check_failures",
        "Probes of the real server that failed.",
        reals.iter().map(|(l, r)| (l.clone(), r.check_failures_total)),
    )?;
    counters(
        enc,
        "ipvs_director_health_transitions",
        "Changes of the real server's health state.",
        reals.iter().map(|(l, r)| (l.clone(), r.transitions_total)),
    )?;
    {
        let mut m = enc.encode_descriptor(
            "ipvs_director_check_duration_seconds",
            "How long the real server's probes took.",
            None,
            MetricType::Histogram,
        )?;
        for (l, r) in &reals {
            let h = &r.check_durations;
            let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .enumerate()
                .map(|(i, b)| (b, h.buckets.get(i).copied().unwrap_or(0)))
                .collect();
            m.encode_family(l)?.encode_histogram::<NoLabelSet>(
                h.sum_seconds,
                h.count,
                &buckets,
                None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
            )?;
        }
    }

    // The daemon.
    counter(
        enc,
        "ipvs_director_table_corrections",
        "Applies that changed the kernel's table.",
        s.table_corrections,
    )?;
    counter(enc, "ipvs_director_table_errors", "Table operations the kernel refused.", s.table_errors)?;
    gauges(
        enc,
        "ipvs_director_kernel_read_ok",
        "Whether the last read of the kernel's table succeeded (1) or not (0).",
        [(Labels::new(), u64::from(s.kernel_error.is_none()))],
    )?;
    gauges(
        enc,
        "ipvs_director_start_time_seconds",
        "When the daemon started, in seconds since the Unix epoch.",
        [(Labels::new(), s.started_unix_ms as f64 / 1000.0)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::director::status::*;

    fn snapshot() -> Snapshot {
        let mut hist = CheckHistogram::new();
        hist.observe(std::time::Duration::from_millis(3));
        let real = RealServerStatus {
            address: "10.0.0.2:80".into(),
            ip: "10.0.0.2".into(),
            port: 80,
            forward: "masq".into(),
            health: Health::Up,
            since_unix_ms: 0,
            weight_configured: 3,
            weight_desired: Some(3),
            weight_kernel: Some(3),
            active_connections: Some(7),
            inactive_connections: Some(2),
            failures: 0,
            check_failures_total: 4,
            transitions_total: 2,
            last_check: None,
            recent_check_durations_ms: vec![3.0],
            check_durations: hist,
            checks: Vec::new(),
        };
        let vs = |key: &str, proto: &str, addr: Option<&str>, port: Option<u16>, mark: Option<u32>| {
            VirtualServiceStatus {
                key: key.into(),
                proto: proto.into(),
                address: addr.map(String::from),
                port,
                fwmark: mark,
                family: "inet".into(),
                scheduler: "wrr".into(),
                flags: Vec::new(),
                persistence_timeout: None,
                in_kernel: true,
                stats: Some(KernelStats { connections: 10, incoming_bytes: 100, ..Default::default() }),
                live: 1,
                total: 1,
                live_weight: 3,
                quorum: true,
                sorry_server: None,
                real_servers: vec![real.clone()],
                unlisted_in_kernel: Vec::new(),
            }
        };
        Snapshot {
            program: "ipvs-director".into(),
            version: "0".into(),
            pid: 1,
            config_file: None,
            dialect: "keepalived".into(),
            started_unix_ms: 1000,
            generated_unix_ms: 2000,
            kernel_read_unix_ms: Some(2000),
            kernel_error: None,
            table_corrections: 5,
            table_errors: 0,
            check_duration_buckets: DURATION_BUCKETS.to_vec(),
            virtual_services: vec![
                vs("TCP 10.0.0.1:80", "TCP", Some("10.0.0.1"), Some(80), None),
                vs("FWM 1", "FWM", None, None, Some(1)),
            ],
            decisions: Vec::new(),
        }
    }

    #[test]
    fn node_exporter_names_and_labels() {
        let text = encode(&Arc::new(snapshot()), false);
        assert!(text.contains(
            "node_ipvs_backend_weight{local_address=\"10.0.0.1\",local_port=\"80\",remote_address=\"10.0.0.2\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"} 3\n"
        ), "{text}");
        assert!(text.contains(
            "node_ipvs_backend_connections_active{local_address=\"\",local_port=\"0\",remote_address=\"10.0.0.2\",remote_port=\"80\",proto=\"FWM\",local_mark=\"00000001\"} 7\n"
        ), "{text}");
        assert!(text.contains("node_ipvs_connections_total 20\n"), "{text}");
        assert!(text.contains("node_ipvs_incoming_bytes_total 200\n"), "{text}");
        assert!(text.contains("# TYPE node_ipvs_connections_total counter\n"), "{text}");
        assert!(text.contains("ipvs_director_table_corrections_total 5\n"), "{text}");
        assert!(text.contains("ipvs_director_real_server_state{local_address=\"10.0.0.1\",local_port=\"80\",remote_address=\"10.0.0.2\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\",state=\"up\"} 1\n"), "{text}");
        assert!(text.contains("ipvs_director_check_duration_seconds_bucket{local_address=\"10.0.0.1\",local_port=\"80\",remote_address=\"10.0.0.2\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\",le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("ipvs_director_check_duration_seconds_count{local_address=\"10.0.0.1\",local_port=\"80\",remote_address=\"10.0.0.2\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"} 1\n"), "{text}");
        for (name, _) in METRICS {
            assert!(text.contains(&format!("\n{name}")), "{name} missing");
        }
    }

    #[test]
    fn openmetrics_ends_with_eof() {
        let text = encode(&Arc::new(snapshot()), true);
        assert!(text.ends_with("# EOF\n"));
        assert!(
            text.contains("# TYPE node_ipvs_connections counter\nnode_ipvs_connections_total 20\n"),
            "{text}"
        );
        assert!(wants_openmetrics(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")));
        assert!(!wants_openmetrics(Some("*/*")));
    }
}
