"""sheaftopo.io: every format, the key syntax, one-line errors naming the file for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from sheaftopo.io import (
    EmbeddingFileError,
    check_paired,
    load_embedding_sets,
    load_embeddings,
    load_labels,
    read_arrays,
    split_spec,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 3))


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text
    return text


# ----------------------------------------------------------------------
# formats
# ----------------------------------------------------------------------


def test_npy_keeps_float32_and_converts_integers(tmp_path):
    f32 = tmp_path / "a.npy"
    np.save(f32, X.astype(np.float32))
    out = load_embeddings(f32)
    assert out.dtype == np.float32 and np.array_equal(out, X.astype(np.float32))
    ints = tmp_path / "i.npy"
    np.save(ints, np.arange(6).reshape(3, 2))
    assert load_embeddings(str(ints)).dtype == np.float64


def test_loaded_arrays_are_fresh_and_writable(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, X)
    a = load_embeddings(f)
    a[0, 0] = 123.0
    assert load_embeddings(f)[0, 0] == X[0, 0]


def test_npz_single_and_keyed(tmp_path):
    one = tmp_path / "one.npz"
    np.savez(one, emb=X)
    assert np.array_equal(load_embeddings(one), X)
    two = tmp_path / "two.npz"
    np.savez(two, img=X, txt=2 * X[:, :2])
    assert np.array_equal(load_embeddings(f"{two}:txt"), 2 * X[:, :2])
    with pytest.raises(EmbeddingFileError) as e:
        load_embeddings(two)
    assert "holds 2 arrays" in one_line(e.value) and str(two) in str(e.value)
    with pytest.raises(EmbeddingFileError, match="no array named 'nope'"):
        load_embeddings(f"{two}:nope")


def test_one_npz_of_several_sets_with_labels_excluded(tmp_path):
    f = tmp_path / "pairs.npz"
    np.savez(f, image=X, text=X[:, :2], labels=np.arange(6))
    sets = load_embedding_sets([f], exclude=["labels"])
    assert list(sets) == ["image", "text"]
    assert np.array_equal(sets["text"], X[:, :2])


def test_torch_tensor_and_dict(tmp_path):
    torch = pytest.importorskip("torch")
    t = tmp_path / "t.pt"
    torch.save(torch.from_numpy(X), t)
    assert np.allclose(load_embeddings(t), X)
    d = tmp_path / "d.pth"
    torch.save({"img": torch.from_numpy(X).to(torch.bfloat16), "txt": torch.ones(6, 2)}, d)
    img = load_embeddings(f"{d}:img")
    assert img.dtype == np.float32 and np.allclose(img, X, atol=0.02)
    assert load_embedding_sets([d]).keys() == {"img", "txt"}


def test_torch_refuses_pickled_objects(tmp_path):
    torch = pytest.importorskip("torch")
    f = tmp_path / "obj.pt"

    from fractions import Fraction

    torch.save({"x": torch.ones(2, 2), "obj": Fraction(1, 3)}, f)
    with pytest.raises(EmbeddingFileError, match="weights_only"):
        load_embeddings(f"{f}:x")


def test_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    f = tmp_path / "e.safetensors"
    st.save_file({"img": X.astype(np.float32), "txt": np.ones((6, 4), np.float32)}, str(f))
    assert np.allclose(load_embeddings(f"{f}:img"), X)
    assert set(read_arrays(f)) == {"img", "txt"}


def test_parquet_column_per_dimension_and_list_column(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    cols = tmp_path / "cols.parquet"
    pd.DataFrame(X, columns=["d0", "d1", "d2"]).to_parquet(cols)
    assert np.allclose(load_embeddings(cols), X)
    lists = tmp_path / "lists.parquet"
    pd.DataFrame({"id": range(6), "emb": list(X)}).to_parquet(lists)
    assert np.allclose(load_embeddings(f"{lists}:emb"), X)
    only = tmp_path / "only.parquet"
    pd.DataFrame({"emb": list(X)}).to_parquet(only)
    assert np.allclose(load_embeddings(only), X)


def test_csv_with_header_without_header_and_string_vectors(tmp_path):
    pytest.importorskip("pandas")
    head = tmp_path / "head.csv"
    head.write_text("a,b,c\n" + "\n".join(",".join(repr(float(v)) for v in r) for r in X))
    assert np.allclose(load_embeddings(head), X)
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(",".join(repr(float(v)) for v in r) for r in X))
    assert load_embeddings(bare).shape == (6, 3)
    vec = tmp_path / "vec.csv"
    rows = ['"[' + ", ".join(repr(float(v)) for v in r) + ']"' for r in X]
    vec.write_text("embedding\n" + "\n".join(rows))
    assert np.allclose(load_embeddings(vec), X)


def test_csv_ragged_vectors_and_text_columns_are_refused(tmp_path):
    pytest.importorskip("pandas")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text('v\n"[1, 2]"\n"[1, 2, 3]"\n')
    with pytest.raises(EmbeddingFileError, match="different lengths"):
        load_embeddings(ragged)
    text = tmp_path / "text.csv"
    text.write_text("name,x\nfoo,1\nbar,2\n")
    with pytest.raises(EmbeddingFileError, match="non-numeric column"):
        load_embeddings(text)


# ----------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------


def test_missing_file(tmp_path):
    f = tmp_path / "nope.npy"
    with pytest.raises(FileNotFoundError) as e:
        load_embeddings(f)
    assert str(f) in one_line(e.value) and "no such file" in str(e.value)


def test_unknown_format(tmp_path):
    f = tmp_path / "emb.h5"
    f.write_bytes(b"\x89HDF")
    with pytest.raises(EmbeddingFileError) as e:
        load_embeddings(f)
    assert "unknown format '.h5'" in one_line(e.value) and str(f) in str(e.value)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.arange(4.0), r"is 1-D with shape \(4,\)"),
        (np.zeros((2, 2, 2)), "is 3-D"),
        (np.zeros((0, 3)), "is empty"),
        (np.array([["a", "b"]]), "embeddings must be real numbers"),
    ],
)
def test_bad_shapes_and_types(tmp_path, array, match):
    f = tmp_path / "bad.npy"
    np.save(f, array)
    with pytest.raises(EmbeddingFileError, match=match) as e:
        load_embeddings(f)
    assert one_line(e.value).startswith(str(f))


def test_nan_row_is_named(tmp_path):
    bad = X.copy()
    bad[4, 1] = np.nan
    bad[5, 0] = np.inf
    f = tmp_path / "nan.npy"
    np.save(f, bad)
    with pytest.raises(EmbeddingFileError) as e:
        load_embeddings(f)
    msg = one_line(e.value)
    assert "row 4 holds nan (column 1)" in msg and "2 of 6 rows" in msg


def test_pickled_npy_is_refused(tmp_path):
    f = tmp_path / "obj.npy"
    np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(EmbeddingFileError, match="refusing to unpickle"):
        load_embeddings(f)


def test_corrupt_npy(tmp_path):
    f = tmp_path / "junk.npy"
    f.write_bytes(b"definitely not numpy")
    with pytest.raises(EmbeddingFileError, match=r"not a readable NumPy file \(no \.npy"):
        load_embeddings(f)


def test_mismatched_rows_name_the_file(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, X)
    np.save(b, X[:5])
    with pytest.raises(EmbeddingFileError) as e:
        load_embedding_sets([a, b])
    assert one_line(e.value).startswith(f"{b}: has 5 rows but {a} has 6")
    check_paired({"x": X, "y": X})  # no error


def test_a_single_set_is_not_enough(tmp_path):
    f = tmp_path / "one.npz"
    np.savez(f, only=X)
    with pytest.raises(EmbeddingFileError, match="1 usable array"):
        load_embedding_sets([f])


def test_split_spec_leaves_existing_paths_alone(tmp_path):
    odd = tmp_path / "odd:name.npy"
    np.save(odd, X)
    assert split_spec(str(odd)) == (odd, None)
    assert split_spec(f"{tmp_path}/e.npz:img") == (tmp_path / "e.npz", "img")
    assert split_spec("C:/data/e.npy") == (split_spec("C:/data/e.npy")[0], None)


# ----------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------


def test_labels_formats(tmp_path):
    txt = tmp_path / "y.txt"
    txt.write_text("1\n2\n1\n\n")
    assert load_labels(txt, n_rows=3).tolist() == [1, 2, 1]
    col = tmp_path / "y.npy"
    np.save(col, np.array([[0.0], [1.0], [1.0]]))
    out = load_labels(col, n_rows=3)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 1]


def test_labels_from_csv_column(tmp_path):
    pytest.importorskip("pandas")
    f = tmp_path / "meta.csv"
    f.write_text("id,label\n0,cat\n1,dog\n")
    assert load_labels(f"{f}:label", n_rows=2).tolist() == ["cat", "dog"]
    with pytest.raises(EmbeddingFileError, match="name the label column"):
        load_labels(f, n_rows=2)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((3, 2)), "labels must be 1-D"),
        (np.array([0.0, np.nan, 1.0]), "entry 1 is nan"),
        (np.arange(4), "has 4 labels but the embedding sets have 3 rows"),
    ],
)
def test_bad_labels(tmp_path, array, match):
    f = tmp_path / "y.npy"
    np.save(f, array)
    with pytest.raises(EmbeddingFileError, match=match) as e:
        load_labels(f, n_rows=3)
    assert one_line(e.value).startswith(str(f))


def test_missing_optional_reader_names_the_extra(tmp_path, monkeypatch):
    import sys

    f = tmp_path / "e.parquet"
    f.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ImportError, match=r"sheaftopo\[io\]") as e:
        load_embeddings(f)
    assert str(f) in str(e.value)
