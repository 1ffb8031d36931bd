use bgplet_wire::{
    DecodeError, HeaderError, Message, SessionContext, message_len,
};

fn header(len: u16, ty: u8) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(ty);
    v
}

#[test]
fn message_len_waits_for_a_whole_header_and_body() {
    let mut buf = header(23, 2);
    assert_eq!(message_len(&buf[..18], 4096), Ok(None));
    assert_eq!(message_len(&buf, 4096), Ok(None));
    buf.extend_from_slice(&[0, 0, 0, 0, 0xff]);
    assert_eq!(message_len(&buf, 4096), Ok(Some(23)));
}

#[test]
fn a_bad_marker_is_connection_not_synchronized() {
    let mut buf = header(19, 4);
    buf[3] = 0;
    let err = message_len(&buf, 4096).unwrap_err();
    assert_eq!(err, HeaderError::BadMarker);
    let n = err.notification();
    assert_eq!((n.code, n.subcode, n.data.len()), (1, 1, 0));
}

#[test]
fn lengths_outside_19_to_max_are_bad_message_length_with_the_length() {
    for len in [0u16, 18, 4097] {
        let err = message_len(&header(len, 2), 4096).unwrap_err();
        assert_eq!(err, HeaderError::BadLength(len));
        let n = err.notification();
        assert_eq!((n.code, n.subcode), (1, 2));
        assert_eq!(&n.data[..], &len.to_be_bytes());
    }
    // RFC 8654: once extended messages are negotiated 4097 is fine.
    assert_eq!(message_len(&header(4097, 2), 65535), Ok(None));
}

#[test]
fn per_type_minimum_lengths_are_enforced() {
    // KEEPALIVE must be exactly 19, OPEN at least 29, UPDATE 23,
    // NOTIFICATION 21 (RFC 4271 6.1).
    for (len, ty) in [(20u16, 4u8), (28, 1), (22, 2), (20, 3)] {
        assert_eq!(
            message_len(&header(len, ty), 4096),
            Err(HeaderError::BadLength(len))
        );
    }
    // OPEN stays within 4096 even with extended messages (RFC 8654 4).
    assert_eq!(
        message_len(&header(5000, 1), 65535),
        Err(HeaderError::BadLength(5000))
    );
}

#[test]
fn an_unknown_type_is_bad_message_type_with_the_type() {
    let err = message_len(&header(19, 6), 4096).unwrap_err();
    assert_eq!(err, HeaderError::BadType(6));
    let n = err.notification();
    assert_eq!((n.code, n.subcode, &n.data[..]), (1, 3, &[6u8][..]));
}

#[test]
fn decode_rejects_a_frame_whose_length_disagrees_with_the_header() {
    let mut frame = header(19, 4);
    frame.push(0);
    let err = Message::decode(&frame, &SessionContext::default()).unwrap_err();
    assert_eq!(err, DecodeError::Header(HeaderError::BadLength(20)));
}
