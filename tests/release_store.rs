//! Release records stored as Secrets in the real test cluster: naming and labels, a record
//! over the Secret size limit split into parts and reassembled, a corrupted record refused,
//! and the cluster module's errors for a forbidden user and a missing context.

mod support;

use charter::cluster::{Cluster, ClusterError};
use charter::object::ObjectRef;
use charter::release::record::{ChartRef, RECORD_API_VERSION, ReleaseRecord, Status};
use charter::release::{ReleaseStore, SecretStore};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use support::{ADMIN_CONTEXT, USER_CONTEXT, cluster_or_skip};

fn record(name: &str, revision: u64, manifest: String) -> ReleaseRecord {
    ReleaseRecord {
        api_version: RECORD_API_VERSION.into(),
        name: name.into(),
        namespace: String::new(),
        revision,
        status: Status::Deployed,
        description: "Install complete".into(),
        chart: ChartRef {
            name: "demo".into(),
            version: "1.4.0".into(),
            app_version: Some("2.3.1".into()),
            description: None,
            digest: "sha256:00".into(),
            source: None,
        },
        values: json!({"replicaCount": 2}),
        user_values: json!({}),
        layers: vec![],
        target: None,
        manifest,
        inventory: vec![ObjectRef::new("apps/v1", "Deployment", Some("x"), "web")],
        notes: String::new(),
        hooks: Vec::new(),
        generated: Default::default(),
        labels: Default::default(),
        first_deployed: "2026-11-23T00:00:00Z".into(),
        last_deployed: "2026-11-23T00:00:00Z".into(),
        deleted: None,
        charter_version: env!("CARGO_PKG_VERSION").into(),
        checksum: String::new(),
    }
}

/// Incompressible text, so the gzip-compressed record really is large.
fn noise(len: usize) -> String {
    let mut x: u64 = 0x2545F4914F6CDD1D;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

#[tokio::test]
async fn records_round_trip_split_and_refuse_corruption() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-store").await;
    let c = Cluster::connect(Some(&cluster.kubeconfig), Some(ADMIN_CONTEXT))
        .await
        .unwrap();
    let store = SecretStore::new(&c);
    let n = ns.name();

    let mut small = record("web", 1, "---\nkind: ConfigMap\n".into());
    store.put(n, &mut small).await.unwrap();
    let mut big = record("web", 2, noise(4_000_000));
    store.put(n, &mut big).await.unwrap();

    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), ns.name());
    let listed = secrets
        .list(&ListParams::default().labels("owner=charter,name=web"))
        .await
        .unwrap();
    let names: Vec<String> = listed
        .items
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    assert!(
        names.contains(&"charter.release.v1.web.v1".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"charter.release.v1.web.v2".to_string()),
        "{names:?}"
    );
    let parts = names
        .iter()
        .filter(|n| n.starts_with("charter.release.v1.web.v2.p"))
        .count();
    assert!(parts >= 4, "a >3 MiB record must be split: {names:?}");
    let main = secrets.get("charter.release.v1.web.v2").await.unwrap();
    assert_eq!(main.type_.as_deref(), Some("charter.dev/release.v1"));
    let labels = main.metadata.labels.unwrap();
    assert_eq!(labels["status"], "deployed");
    assert_eq!(labels["revision"], "2");

    let history = store.history(n, "web").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], big);
    assert_eq!(store.get(n, "web", 2).await.unwrap().unwrap(), big);
    assert!(store.get(n, "web", 9).await.unwrap().is_none());

    // A smaller rewrite of revision 2 leaves no stale parts behind.
    big.manifest = "---\nkind: Secret\n".into();
    big.status = Status::Superseded;
    store.put(n, &mut big).await.unwrap();
    let listed = secrets
        .list(&ListParams::default().labels("owner=charter,name=web"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2, "stale parts remain");
    assert_eq!(
        store.get(n, "web", 2).await.unwrap().unwrap().status,
        Status::Superseded
    );

    // Someone edits a record by hand: charter refuses it and names the Secret.
    let tampered =
        json!({"data": {"release": "H4sIAAAAAAAA/6tWKkktLlGyUlAqS8wpTVWqBQBAr3kmEwAAAA=="}});
    secrets
        .patch(
            "charter.release.v1.web.v1",
            &PatchParams::default(),
            &Patch::Merge(&tampered),
        )
        .await
        .unwrap();
    let err = store.history(n, "web").await.unwrap_err().to_string();
    assert!(err.contains("charter.release.v1.web.v1"), "{err}");

    store.delete(n, "web", 2).await.unwrap();
    store.delete(n, "web", 1).await.unwrap();
    let listed = secrets
        .list(&ListParams::default().labels("owner=charter,name=web"))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    ns.delete().await;
}

#[tokio::test]
async fn forbidden_and_missing_context_errors_say_who_what_where() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-forbidden").await;
    let user = Cluster::connect(Some(&cluster.kubeconfig), Some(USER_CONTEXT))
        .await
        .unwrap();
    let err = SecretStore::new(&user)
        .history(ns.name(), "web")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("forbidden: user"), "{msg}");
    assert!(
        msg.contains("list secrets") && msg.contains(ns.name()),
        "{msg}"
    );

    let err = Cluster::connect(Some(&cluster.kubeconfig), Some("nope"))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ClusterError::NoContext { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`nope`") && msg.contains(ADMIN_CONTEXT),
        "{msg}"
    );
    let err = Cluster::connect(Some(std::path::Path::new("/nonexistent/kubeconfig")), None)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("/nonexistent/kubeconfig"), "{err}");
    ns.delete().await;
}

#[tokio::test]
async fn release_lock_is_exclusive_waits_and_takes_over_expired_leases() {
    use charter::release::lock::{Acquired, LockError, acquire};
    use std::time::Duration;
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-lock").await;
    let client = cluster.client.clone();
    let ttl = Duration::from_secs(3);

    let (first, how) = acquire(
        client.clone(),
        ns.name(),
        "web",
        "ci-job-1",
        ttl,
        None,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(how, Acquired::Fresh);
    // A second operation fails at once and says who holds the lock since when.
    let err = acquire(
        client.clone(),
        ns.name(),
        "web",
        "ci-job-2",
        ttl,
        None,
        &|_| {},
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, LockError::Held { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("`ci-job-1`") && msg.contains("since") && msg.contains("--wait-for-lock"),
        "{msg}"
    );
    // The holder keeps renewing: after longer than the TTL it is still held.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        acquire(
            client.clone(),
            ns.name(),
            "web",
            "ci-job-2",
            ttl,
            None,
            &|_| {}
        )
        .await
        .is_err()
    );

    // With a wait, the second gets it once the first releases.
    let waiter = tokio::spawn({
        let client = client.clone();
        let ns = ns.name().to_string();
        async move {
            acquire(
                client,
                &ns,
                "web",
                "ci-job-2",
                ttl,
                Some(Duration::from_secs(30)),
                &|_| {},
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.release().await;
    let (second, how) = waiter.await.unwrap().unwrap();
    assert_eq!(how, Acquired::Fresh);

    // A crashed holder (no renewal, no release) expires; the next run takes over and is told.
    drop(second);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (third, how) = acquire(
        client.clone(),
        ns.name(),
        "web",
        "ci-job-3",
        ttl,
        None,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        how,
        Acquired::TookOver {
            holder: "ci-job-2".into()
        }
    );
    third.release().await;
    ns.delete().await;
}
