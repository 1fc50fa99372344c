from greenshift.runtime.packing import pack, unpack


def test_packed_values_come_back_equal_compressed_or_not() -> None:
    for value in ({"metadata": {"name": "é"}, "n": [1, 2.5, None, True]}, [{"a": "b"}], {}, []):
        compressed, plain = pack(value), pack(value, compress=False)
        assert unpack(compressed) == unpack(plain) == value
        assert plain[:1] in (b"{", b"[")
        assert compressed[:1] == b"\0"


def test_compressed_data_is_never_taken_for_json() -> None:
    """LZ4 data may start with any byte (its size, for one): the marker keeps them apart."""
    for size in range(100, 700, 7):
        value = {"x": "y" * size}
        assert unpack(pack(value)) == value
