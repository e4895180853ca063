//! Damaged CDR payloads never panic the decoder and never make it allocate for lengths the
//! payload does not hold: Image, CameraInfo and a type with bounded fields (Tags), measured by
//! an allocator that records the largest single allocation of the decoding thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use custom_msgs_example::my_robot_msgs::Tags;
use proptest::prelude::*;
use rosync::cdr;
use rosync::msg::sensor_msgs::{CameraInfo, Image};

struct Measuring;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the thread-locals may be gone while a thread exits.
    let _ = MEASURING.try_with(|on| {
        if on.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

// SAFETY: forwards every call to the system allocator; only records sizes.
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

/// Decodes `bytes` as `T` and returns whether it decoded and the largest allocation it made.
fn largest_allocation<T: rosync::msg::Message>(bytes: &[u8]) -> (bool, usize) {
    LARGEST.with(|l| l.set(0));
    MEASURING.with(|m| m.set(true));
    let decoded = cdr::decode::<T>(bytes);
    MEASURING.with(|m| m.set(false));
    let ok = decoded.is_ok();
    drop(decoded);
    (ok, LARGEST.with(Cell::get))
}

/// The most a decode may allocate at once for `len` input bytes: a `Vec` reserves at most as
/// many elements as 8-byte values fit in what remains (a String element is 24 bytes in memory).
fn allowed(len: usize) -> usize {
    3 * len + 1024
}

fn samples() -> Vec<Vec<u8>> {
    let image = Image {
        encoding: "rgb8".into(),
        width: 4,
        height: 2,
        step: 12,
        data: vec![7; 24],
        ..Default::default()
    };
    let info = CameraInfo {
        distortion_model: "plumb_bob".into(),
        d: vec![0.5; 5],
        ..Default::default()
    };
    let tags = Tags {
        names: vec!["a".into(), "bb".into()],
        codes: vec!["c".into(); 6],
        pair: ["x".into(), "y".into()],
        flags: vec![1, 2],
        scores: vec![0.25],
    };
    [cdr::encode(&image), cdr::encode(&info), cdr::encode(&tags)]
        .into_iter()
        .map(|r| r.expect("encodes"))
        .collect()
}

/// One change to a payload: a byte, or a 4-byte little-endian word at an offset.
#[derive(Debug, Clone)]
enum Change {
    Byte(usize, u8),
    Word(usize, u32),
    /// A length prefix as large as what remains after it: the worst a sequence can claim.
    RemainingLength(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Change::Byte(at, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(u32::MAX),
                Just(i32::MAX as u32),
                Just(0x8000_0000),
                any::<u32>()
            ]
        )
            .prop_map(|(at, w)| Change::Word(at, w)),
        any::<usize>().prop_map(Change::RemainingLength),
    ]
}

fn apply(bytes: &mut [u8], change: &Change) {
    let len = bytes.len();
    match *change {
        Change::Byte(at, b) => bytes[at % len] = b,
        Change::Word(at, w) if len >= 4 => {
            let at = at % (len - 3);
            bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
        Change::RemainingLength(at) if len >= 4 => {
            let at = at % (len - 3);
            let remaining = (len - at - 4) as u32;
            bytes[at..at + 4].copy_from_slice(&remaining.to_le_bytes());
        }
        _ => {}
    }
}

/// Decoding in pieces (as zenoh delivers large samples) gives what decoding in one piece does.
fn same_in_pieces<T: rosync::msg::Message + std::fmt::Debug>(
    bytes: &[u8],
    split: usize,
) -> Result<(), TestCaseError> {
    let (a, b) = bytes.split_at(split % (bytes.len() + 1));
    let (b, c) = b.split_at(b.len() / 2);
    // Compared as Debug text: a damaged float may be NaN, which is not equal to itself.
    prop_assert_eq!(
        format!("{:?}", cdr::decode_segments::<T>([a, b, c])),
        format!("{:?}", cdr::decode::<T>(bytes))
    );
    Ok(())
}

fn check_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    for (name, (_, largest)) in [
        ("Image", largest_allocation::<Image>(bytes)),
        ("CameraInfo", largest_allocation::<CameraInfo>(bytes)),
        ("Tags", largest_allocation::<Tags>(bytes)),
    ] {
        prop_assert!(
            largest <= allowed(bytes.len()),
            "{name}: {largest} bytes allocated at once for {} input bytes",
            bytes.len()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn damaged_payloads_never_panic_or_overallocate(
        sample in 0usize..3,
        changes in proptest::collection::vec(change(), 0..6),
        cut in any::<usize>(),
        cut_it in any::<bool>(),
        extra in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = samples().swap_remove(sample);
        for c in &changes {
            apply(&mut bytes, c);
        }
        if cut_it {
            bytes.truncate(cut % (bytes.len() + 1));
        } else {
            bytes.extend(&extra);
        }
        check_all(&bytes)?;
        same_in_pieces::<Image>(&bytes, cut)?;
        same_in_pieces::<CameraInfo>(&bytes, cut)?;
        same_in_pieces::<Tags>(&bytes, cut)?;
    }

    #[test]
    fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = vec![0, 1, 0, 0];
        bytes.extend(&tail);
        check_all(&bytes)?;
    }
}

#[test]
fn a_length_of_four_giga_with_eight_bytes_errors_without_allocating() {
    let bytes = [0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff];
    for (decoded, largest) in [
        largest_allocation::<Tags>(&bytes),
        largest_allocation::<Image>(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
    ] {
        assert!(!decoded);
        assert!(largest < 64, "{largest} bytes allocated");
    }
}
