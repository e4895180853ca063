//! Big messages through shared memory between real zenoh sessions on loopback: rosync to
//! rosync (read in place with a borrowed view, or owned), to and from an independent Python
//! `eclipse-zenoh` peer with shared memory on and off (`tests/python/shm_peer.py`).
#![cfg(feature = "shared-memory")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{endpoint, repo, PATIENCE};
use rosync::msg::sensor_msgs::Image;
use rosync::msg::views::ImageView;
use rosync::msg::Message;
use rosync::node::{graph, LoanedMessage, Node, Publisher, QosProfile, SharedMemory};

fn image(seed: u8) -> Image {
    common::rgb8(
        common::header(1_700_000_000_123_456_789, "camera"),
        640,
        480,
        (0..640 * 480 * 3)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect(),
    )
}

async fn node(
    name: &str,
    domain: u32,
    shared_memory: SharedMemory,
    listen: Option<&str>,
    connect: Option<&str>,
) -> Node {
    let mut builder = Node::builder(name)
        .domain_id(domain)
        .shared_memory(shared_memory);
    if let Some(ep) = listen {
        builder = builder.listen(ep);
    }
    if let Some(ep) = connect {
        builder = builder.connect(ep);
    }
    builder.build().await.expect("node starts")
}

/// Collects loaned messages from a callback subscriber.
type Loans = Arc<Mutex<Vec<LoanedMessage<Image>>>>;

async fn wait_for(loans: &Loans, count: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while loans.lock().expect("loans").len() < count && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_read_in_place_from_shared_memory_and_over_the_network_without_it() {
    let ep = endpoint();
    let publisher_node = node("shm_pub", 68, SharedMemory::default(), Some(&ep), None).await;
    let in_shm = node("shm_sub", 68, SharedMemory::default(), None, Some(&ep)).await;
    let no_shm = node("tcp_sub", 68, SharedMemory::disabled(), None, Some(&ep)).await;
    let (shm_loans, tcp_loans): (Loans, Loans) = Default::default();
    let (a, b) = (Arc::clone(&shm_loans), Arc::clone(&tcp_loans));
    let _shm_sub = in_shm
        .subscriber::<Image>("/camera/image")
        .loaned_callback(move |m| a.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let _tcp_sub = no_shm
        .subscriber::<Image>("/camera/image")
        .loaned_callback(move |m| b.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let owned = in_shm
        .subscriber::<Image>("/camera/image")
        .queue_size(4)
        .await
        .expect("sub");
    // Keep all: zenoh blocks instead of dropping an image when the machine is busy.
    let publisher = publisher_node
        .publisher::<Image>("/camera/image")
        .qos(QosProfile::default().keep_all())
        .await
        .expect("pub");
    assert!(publisher_node
        .wait_for_subscriptions("/camera/image", 3, PATIENCE)
        .await
        .expect("graph"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = [image(1), image(2)];
    for msg in &sent {
        publisher.publish(msg).await.expect("publishes");
    }
    wait_for(&shm_loans, 2).await;
    wait_for(&tcp_loans, 2).await;
    assert_eq!(
        publisher_node.shm_stats().published,
        2,
        "{:?}",
        publisher_node.shm_stats()
    );
    for (loans, shared) in [(&shm_loans, true), (&tcp_loans, false)] {
        let loans = loans.lock().expect("loans");
        assert_eq!(loans.len(), 2, "in shared memory: {shared}");
        for (loan, msg) in loans.iter().zip(&sent) {
            assert_eq!(loan.is_shared_memory(), shared, "{loan:?}");
            let view: ImageView = loan.view().expect("an image");
            assert_eq!(view.data, &msg.data[..]);
            assert_eq!((view.width, view.height, view.encoding), (640, 480, "rgb8"));
            assert_eq!(view.header, msg.header);
            // In place: the pixels lie inside the received buffer.
            assert!(loan.bytes().as_ptr_range().contains(&view.data.as_ptr()));
            assert_eq!(&loan.decode().expect("owned"), msg);
            assert!(loan.info().attachment.is_some());
        }
    }
    for msg in &sent {
        let got = tokio::time::timeout(PATIENCE, owned.recv())
            .await
            .expect("owned")
            .expect("open");
        assert_eq!(&got, msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_is_no_image_is_an_error_from_the_view() {
    let ep = endpoint();
    let a = node("shm_a", 69, SharedMemory::default(), Some(&ep), None).await;
    let b = node("shm_b", 69, SharedMemory::default(), None, Some(&ep)).await;
    let loans: Loans = Default::default();
    let l = Arc::clone(&loans);
    let _sub = b
        .subscriber::<Image>("/bad")
        .loaned_callback(move |m| l.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let key = graph::topic_key_expr(69, "/bad", Image::TYPE_NAME, Image::TYPE_HASH);
    let publisher = a
        .session()
        .declare_publisher(key)
        .congestion_control(zenoh::qos::CongestionControl::Block)
        .await
        .expect("pub");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !publisher
        .matching_status()
        .await
        .expect("status")
        .matching()
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Claims 4 GiB of pixels.
    let mut bad = rosync::cdr::encode(&image(3)).expect("encodes");
    let at = bad.len() - 640 * 480 * 3 - 4;
    bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    publisher.put(bad).await.expect("puts");
    wait_for(&loans, 1).await;
    let loans = loans.lock().expect("loans");
    let err = loans[0].view::<ImageView>().expect_err("malformed");
    assert!(err.to_string().contains("claims"), "{err}");
    assert!(loans[0].decode().is_err());
}

/// Publishes `msg` through a loaned message: its fields but the pixels as the template, the
/// pixels written in place, the stamp set last. Returns whether the loan was in shared memory.
async fn publish_loaned(publisher: &Publisher<Image>, msg: &Image, now: bool) -> bool {
    let template = Image {
        data: Vec::new(),
        ..msg.clone()
    };
    let mut loan = publisher
        .borrow_loaned_message(template, msg.data.len())
        .expect("a loan");
    loan.data_mut().copy_from_slice(&msg.data);
    loan.set_stamp(msg.header.stamp);
    let shared = loan.is_shared_memory();
    assert_eq!(
        loan.bytes(),
        &rosync::cdr::encode(msg).expect("encodes")[..]
    );
    if now {
        loan.publish_now().expect("publishes");
    } else {
        loan.publish().await.expect("publishes");
    }
    shared
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaned_image_written_in_place_reaches_subscribers_with_and_without_shared_memory() {
    let ep = endpoint();
    let publisher_node = node("loan_pub", 72, SharedMemory::default(), Some(&ep), None).await;
    let in_shm = node("loan_shm_sub", 72, SharedMemory::default(), None, Some(&ep)).await;
    let no_shm = node(
        "loan_tcp_sub",
        72,
        SharedMemory::disabled(),
        None,
        Some(&ep),
    )
    .await;
    let (shm_loans, tcp_loans): (Loans, Loans) = Default::default();
    let (a, b) = (Arc::clone(&shm_loans), Arc::clone(&tcp_loans));
    let _shm_sub = in_shm
        .subscriber::<Image>("/camera/loaned")
        .loaned_callback(move |m| a.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let _tcp_sub = no_shm
        .subscriber::<Image>("/camera/loaned")
        .loaned_callback(move |m| b.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let publisher = publisher_node
        .publisher::<Image>("/camera/loaned")
        .qos(QosProfile::default().keep_all())
        .await
        .expect("pub");
    assert!(publisher_node
        .wait_for_subscriptions("/camera/loaned", 2, PATIENCE)
        .await
        .expect("graph"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = [image(6), image(7)];
    sent[1].header.stamp =
        rosync::msg::builtin_interfaces::Time::from_nanos(1_800_000_000_000_000_007);
    assert!(publish_loaned(&publisher, &sent[0], false).await);
    assert!(publish_loaned(&publisher, &sent[1], true).await);
    wait_for(&shm_loans, 2).await;
    wait_for(&tcp_loans, 2).await;
    let stats = publisher_node.shm_stats();
    assert!(stats.published == 2 && stats.fell_back == 0, "{stats:?}");
    for (loans, shared) in [(&shm_loans, true), (&tcp_loans, false)] {
        let loans = loans.lock().expect("loans");
        assert_eq!(loans.len(), 2, "in shared memory: {shared}");
        for (loan, msg) in loans.iter().zip(&sent) {
            assert_eq!(loan.is_shared_memory(), shared, "{loan:?}");
            assert_eq!(&loan.decode().expect("owned"), msg);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loan_falls_back_to_an_ordinary_buffer_and_still_arrives() {
    let ep = endpoint();
    let tiny_pool = SharedMemory {
        pool_size: 64 * 1024,
        ..SharedMemory::default()
    };
    let full = node("loan_small_pool", 73, tiny_pool, Some(&ep), None).await;
    let off = node("loan_no_shm", 73, SharedMemory::disabled(), None, Some(&ep)).await;
    let receiver = node(
        "loan_receiver",
        73,
        SharedMemory::default(),
        None,
        Some(&ep),
    )
    .await;
    let loans: Loans = Default::default();
    let l = Arc::clone(&loans);
    let _sub = receiver
        .subscriber::<Image>("/fallback")
        .loaned_callback(move |m| l.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let pool_full = full
        .publisher::<Image>("/fallback")
        .qos(QosProfile::default().keep_all())
        .await
        .expect("pub");
    let shm_off = off
        .publisher::<Image>("/fallback")
        .qos(QosProfile::default().keep_all())
        .await
        .expect("pub");
    assert!(receiver
        .wait_for_publishers("/fallback", 2, PATIENCE)
        .await
        .expect("graph"));
    assert!(full
        .wait_for_subscriptions("/fallback", 1, PATIENCE)
        .await
        .expect("graph"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Too big for a 64 KiB pool; shared memory off; under the 512-byte threshold.
    let small = common::rgb8(common::header(5, "camera"), 4, 2, (0..24).collect());
    let sent = [image(8), image(9), small];
    assert!(!publish_loaned(&pool_full, &sent[0], false).await);
    assert!(!publish_loaned(&shm_off, &sent[1], false).await);
    assert!(!publish_loaned(&pool_full, &sent[2], false).await);
    assert_eq!(full.shm_stats().fell_back, 1, "{:?}", full.shm_stats());
    assert_eq!(off.shm_stats(), Default::default());
    wait_for(&loans, 3).await;
    let loans = loans.lock().expect("loans");
    assert_eq!(loans.len(), 3);
    assert!(loans.iter().all(|l| !l.is_shared_memory()));
    let got: Vec<Image> = loans
        .iter()
        .map(|l| l.decode().expect("an image"))
        .collect();
    for msg in &sent {
        assert!(got.contains(msg), "{} bytes of pixels", msg.data.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loan_whose_size_does_not_fit_the_image_is_an_error() {
    let node = node("loan_bad", 74, SharedMemory::default(), None, None).await;
    let publisher = node.publisher::<Image>("/bad_loan").await.expect("pub");
    let template = Image {
        width: 640,
        height: 480,
        step: 640 * 3,
        encoding: "rgb8".into(),
        ..Default::default()
    };
    let err = publisher
        .borrow_loaned_message(template, 640 * 480)
        .expect_err("the pixels of an rgb8 image are 3 bytes each");
    let text = err.to_string();
    assert!(text.contains("921600") && text.contains("307200"), "{text}");
    assert_eq!(node.shm_stats(), Default::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpublished_loan_gives_its_buffer_back_to_the_pool() {
    // Room for two 640x480 rgb8 images at a time.
    let two_images = SharedMemory {
        pool_size: 2 * 1024 * 1024,
        ..SharedMemory::default()
    };
    let node = node("loan_dropped", 76, two_images, None, None).await;
    let publisher = node.publisher::<Image>("/dropped").await.expect("pub");
    let msg = image(10);
    let template = Image {
        data: Vec::new(),
        ..msg.clone()
    };
    for round in 0..10 {
        let mut loan = publisher
            .borrow_loaned_message(template.clone(), msg.data.len())
            .expect("a loan");
        assert!(loan.is_shared_memory(), "round {round}: {loan:?}");
        loan.data_mut().copy_from_slice(&msg.data);
        assert_eq!(loan.data(), &msg.data[..]);
    }
    assert_eq!(node.shm_stats(), Default::default());
}

fn python_peer(args: &[&str]) -> Child {
    Command::new("python3")
        .arg(format!("{}/tests/python/shm_peer.py", repo()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs")
}

/// The JSON lines a Python subscriber printed, once it exits.
fn lines(child: Child) -> Vec<serde_json::Value> {
    let output = child.wait_with_output().expect("python peer ends");
    assert!(output.status.success(), "python peer failed: {output:?}");
    output
        .stdout
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter(|v| v.get("len").is_some())
        .collect()
}

/// Waits until a Python subscriber printed that it is ready.
fn ready(child: &mut Child) {
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("ready line");
    assert!(line.contains("ready"), "{line}");
    child.stdout = Some(reader.into_inner());
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("python3 hashes");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_peers_with_and_without_shared_memory_receive_a_rosync_image() {
    python_peers_receive(70, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_peers_with_and_without_shared_memory_receive_a_loaned_image() {
    python_peers_receive(75, true).await;
}

/// Python subscribers, one with shared memory and one without, each get the exact CDR bytes
/// of an image published as an owned message or written in place (`loaned`).
async fn python_peers_receive(domain: u32, loaned: bool) {
    let ep = endpoint();
    let node = node(
        "shm_py_pub",
        domain,
        SharedMemory::default(),
        Some(&ep),
        None,
    )
    .await;
    let key = graph::topic_key_expr(domain, "/py_image", Image::TYPE_NAME, Image::TYPE_HASH);
    let mut with_shm = python_peer(&["sub", &key, "--connect", &ep, "--shm", "on", "--count", "2"]);
    let mut without = python_peer(&[
        "sub",
        &key,
        "--connect",
        &ep,
        "--shm",
        "off",
        "--count",
        "2",
    ]);
    ready(&mut with_shm);
    ready(&mut without);
    let publisher = node.publisher::<Image>("/py_image").await.expect("pub");
    // Until both peers got their two samples (a peer's subscription may take a while to
    // reach this node on a loaded machine).
    let msg = image(4);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        let running = [&mut with_shm, &mut without]
            .into_iter()
            .any(|c| c.try_wait().ok().flatten().is_none());
        if !running {
            break;
        }
        if loaned {
            assert!(publish_loaned(&publisher, &msg, false).await);
        } else {
            publisher.publish(&msg).await.expect("publishes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = sha256_hex(&rosync::cdr::encode(&msg).expect("encodes"));
    for (child, shared) in [(with_shm, true), (without, false)] {
        let got = lines(child);
        assert!(got.len() >= 2, "{got:?}");
        for line in got {
            assert_eq!(line["sha256"], expected.as_str(), "{line}");
            assert_eq!(line["shm"], shared, "{line}");
        }
    }
    let stats = node.shm_stats();
    assert!(stats.published >= 2 && stats.fell_back == 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_from_a_python_shared_memory_publisher_is_read_in_place() {
    let ep = endpoint();
    let node = node("shm_py_sub", 71, SharedMemory::default(), Some(&ep), None).await;
    let loans: Loans = Default::default();
    let l = Arc::clone(&loans);
    let _sub = node
        .subscriber::<Image>("/from_py")
        .loaned_callback(move |m| l.lock().expect("loans").push(m))
        .await
        .expect("sub");
    let msg = image(5);
    let dir = common::scratch("shm_from_python");
    let file = dir.join("image.cdr");
    std::fs::write(&file, rosync::cdr::encode(&msg).expect("encodes")).expect("writes");
    let key = graph::topic_key_expr(71, "/from_py", Image::TYPE_NAME, Image::TYPE_HASH);
    let file = file.to_string_lossy().to_string();
    let publisher = python_peer(&[
        "pub",
        &key,
        "--connect",
        &ep,
        "--file",
        &file,
        "--count",
        "2",
    ]);
    let output = publisher.wait_with_output().expect("python publisher ends");
    assert!(output.status.success(), "{output:?}");
    wait_for(&loans, 2).await;
    let loans = loans.lock().expect("loans");
    assert_eq!(loans.len(), 2);
    for loan in loans.iter() {
        assert!(loan.is_shared_memory(), "{loan:?}");
        let view: ImageView = loan.view().expect("an image");
        assert_eq!(view.data, &msg.data[..]);
        assert_eq!(loan.info().attachment, None);
    }
}
