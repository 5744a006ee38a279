"""The modality rescale: applied once, int16 where an integer rescale fits, else float32, native order."""

from __future__ import annotations

import numpy as np

from medstation.io.dicom.rescale import rescale_frames


def test_unsigned_ct_with_negative_intercept_becomes_int16():
    stored = np.array([[[0, 1024, 4095]]], dtype=np.uint16)
    result = rescale_frames(stored, np.ones(1), np.full(1, -1024.0))
    assert result.dtype == np.int16
    np.testing.assert_array_equal(result, [[[-1024, 0, 3071]]])


def test_per_frame_integer_rescale_is_applied_to_each_frame():
    stored = np.full((2, 1, 2), 10, dtype=np.int16)
    result = rescale_frames(stored, np.array([1.0, 2.0]), np.array([0.0, -5.0]))
    assert result.dtype == np.int16
    np.testing.assert_array_equal(result[:, 0, 0], [10, 15])


def test_fractional_slope_gives_float32():
    stored = np.array([[[0, 4095]]], dtype=np.uint16)
    result = rescale_frames(stored, np.array([0.2442]), np.array([-500.0]))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, [[[-500.0, 4095 * 0.2442 - 500.0]]], rtol=1e-6)


def test_range_beyond_int16_gives_float32():
    stored = np.array([[[0, 65535]]], dtype=np.uint16)
    result = rescale_frames(stored, np.ones(1), np.zeros(1))
    assert result.dtype == np.float32
    assert result.max() == 65535.0


def test_big_endian_input_gives_native_output():
    stored = np.array([[[1, 2]]], dtype=">u2")
    result = rescale_frames(stored, np.ones(1), np.full(1, -1.0))
    assert result.dtype == np.int16 and result.dtype.isnative
    np.testing.assert_array_equal(result, [[[0, 1]]])


def test_identity_on_int16_returns_the_same_buffer():
    stored = np.arange(6, dtype=np.int16).reshape(1, 2, 3)
    assert rescale_frames(stored, np.ones(1), np.zeros(1)) is stored
