"""How each torch and numpy function can grow its result, by name.

SAFE: the result never has more elements than the largest input (unary math, reductions,
views that do not grow, conversions, in-place methods). No tensor may ever have more than
max_tensor_elements elements, not even a stride-0 view (expand, broadcast_to and unfold are
checked), so "no larger than an input" is a real bound.
ELEMENTWISE: the result is the broadcast of the inputs.
PRODUCTS: matrix products and contractions, checked for elements and multiply-adds.
CUBIC: decompositions that cost about m*n*min(m, n).
Anything else gets a dry run on meta tensors.
"""

from __future__ import annotations


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


SAFE = _set(
    """
    abs absolute acos acosh angle arccos arccosh arcsin arcsinh arctan arctanh asin asinh atan
    atanh ceil cos cosh deg2rad digamma erf erfc erfinv exp exp2 expm1 fix floor frac i0
    isfinite isinf isnan isneginf isposinf isreal lgamma log log10 log1p log2 logit nan_to_num
    neg negative positive rad2deg reciprocal round rsqrt sigmoid sign sgn signbit sin sinc sinh
    sqrt square tan tanh trunc relu relu6 gelu silu mish softplus softsign elu selu celu
    leaky_relu hardtanh hardswish hardsigmoid hardshrink softshrink tanhshrink logsigmoid
    log_sigmoid softmax log_softmax softmin normalize dropout alpha_dropout feature_alpha_dropout
    dropout1d dropout2d dropout3d rrelu glu gumbel_softmax detach clone contiguous retain_grad
    float double half int long bool byte char short bfloat16 cfloat cdouble chalf cpu type_as
    view view_as reshape reshape_as flatten unflatten ravel squeeze unsqueeze permute transpose t
    adjoint movedim moveaxis swapaxes swapdims narrow select split chunk unbind tensor_split
    hsplit vsplit dsplit split_with_sizes unsafe_chunk unsafe_split flip fliplr flipud roll
    rot90 sort argsort topk kthvalue msort cumsum cumprod cummax cummin logcumsumexp diff sum
    mean std var std_mean var_mean prod amax amin aminmax argmax argmin all any norm logsumexp
    median nanmedian mode nansum nanmean count_nonzero numel dim size item nelement ndimension
    element_size is_floating_point is_complex is_contiguous equal allclose is_nonzero
    is_same_size is_signed is_conj is_neg is_inference get_device data_ptr nonzero argwhere
    unique unique_consecutive trace diagonal tril triu bucketize searchsorted gather
    backward register_hook register_post_accumulate_grad_hook numpy to stride
    storage_offset real imag conj resolve_conj resolve_neg conj_physical view_as_real
    view_as_complex frexp layer_norm group_norm batch_norm instance_norm rms_norm
    local_response_norm sum_to_size renorm polygamma mvlgamma isin index_add index_copy
    index_fill index_put scatter scatter_add scatter_reduce masked_scatter put dim_order
    is_leaf requires_grad_ zero_ fill_ type tolist dequantize is_set_to to_sparse to_sparse_coo
    to_sparse_csr to_sparse_csc to_sparse_bsr to_sparse_bsc max_pool1d max_pool2d max_pool3d
    avg_pool1d avg_pool2d avg_pool3d lp_pool1d
    lp_pool2d lp_pool3d max_pool1d_with_indices max_pool2d_with_indices max_pool3d_with_indices
    empty_like zeros_like ones_like rand_like randn_like randint_like full_like
    detach_copy atleast_1d atleast_2d atleast_3d
    Parameter Buffer Variable grad
    __get__ __set__ __repr__ __format__ __bool__ __len__ __float__ __int__ __index__
    __complex__ __contains__ __reversed__ __iter__ __hash__ __neg__ __pos__ __abs__ __invert__
    __setitem__ __array__ __deepcopy__ __reduce_ex__ __long__ __nonzero__ __array_wrap__
    __dlpack_device__
    """
)
_ARITH = "add sub mul truediv div floordiv mod pow and or xor lshift rshift matmul"
_DUNDERS = {f"__{p}{op}__" for op in _ARITH.split() for p in ("", "r", "i")} - {
    "__matmul__",
    "__rmatmul__",
    "__imatmul__",
}
ELEMENTWISE = _set(
    """
    add sub subtract mul multiply div divide true_divide floor_divide remainder fmod pow
    float_power atan2 arctan2 hypot maximum minimum fmax fmin max min eq ne lt le gt ge greater
    less greater_equal less_equal not_equal logical_and logical_or logical_xor logical_not
    bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift bitwise_not where
    lerp addcmul addcdiv clamp clip clamp_min clamp_max copysign nextafter xlogy masked_fill
    masked_select isclose heaviside ldexp logaddexp logaddexp2 gcd lcm igamma igammac rsub
    mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
    binary_cross_entropy_with_logits kl_div cross_entropy nll_loss poisson_nll_loss
    gaussian_nll_loss soft_margin_loss margin_ranking_loss hinge_embedding_loss
    cosine_embedding_loss multilabel_soft_margin_loss multilabel_margin_loss multi_margin_loss
    cosine_similarity pairwise_distance cross dist threshold prelu complex polar binomial
    __eq__ __ne__ __lt__ __le__ __gt__ __ge__
    """
) | frozenset(_DUNDERS)
PRODUCTS = _set(
    """
    matmul mm bmm mv dot vdot inner outer ger addmm addbmm baddbmm addmv addr chain_matmul
    linear bilinear einsum tensordot kron cdist cartesian_prod conv1d conv2d conv3d
    conv_transpose1d conv_transpose2d conv_transpose3d __matmul__ __rmatmul__ __imatmul__
    linalg_multi_dot linalg_matmul linalg_vecdot
    """
)
CUBIC = _set(
    """
    det logdet slogdet inverse pinverse svd qr cholesky lu matrix_exp matrix_power
    triangular_solve cholesky_solve cholesky_inverse lu_solve geqrf orgqr ormqr
    """
)
# Factories: each has its own estimate from its size arguments (see calls to size_from).
TORCH_FACTORIES = _set(
    """
    zeros ones empty rand randn full randint randperm arange range linspace logspace eye normal
    scalar_tensor empty_strided tril_indices triu_indices vander bartlett_window blackman_window
    hamming_window hann_window kaiser_window tensor as_tensor asarray new_zeros new_ones
    new_empty new_full new_tensor new new_empty_strided
    """
)
NUMPY_ELEMENTWISE = _set(
    """
    add subtract multiply divide true_divide floor_divide power float_power mod remainder fmod
    maximum minimum fmax fmin arctan2 hypot where greater less equal not_equal greater_equal
    less_equal logical_and logical_or logical_xor heaviside isclose clip copysign allclose
    array_equal
    """
)
NUMPY_CUBIC = _set("inv det solve eig eigh eigvals eigvalsh qr pinv matrix_rank cholesky")
# Positional index of the ``size`` argument of numpy's random functions.
NUMPY_RANDOM_SIZE = {
    "random": 0,
    "standard_normal": 0,
    "normal": 2,
    "uniform": 2,
    "randint": 2,
    "integers": 2,
    "choice": 1,
}
