//! The fused kernels compute the same values and gradients as the composed ops.

use candle_core::{Device, Tensor, Var};
use picotag_quantize::model::{fused, ops};

fn check(f: impl Fn(&Tensor) -> Tensor, g: impl Fn(&Tensor) -> Tensor, tol: f32) {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 2.0, (6, 3, 20), &dev).unwrap()).unwrap();
    let proj = Tensor::randn(0f32, 1.0, (6, 3, 20), &dev).unwrap();
    let (a, b) = (f(x.as_tensor()), g(x.as_tensor()));
    let d = (&a - &b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    assert!(d.to_scalar::<f32>().unwrap() < tol, "values differ by {d}");
    let ga = (a * &proj).unwrap().sum_all().unwrap().backward().unwrap();
    let gb = (b * &proj).unwrap().sum_all().unwrap().backward().unwrap();
    let (ga, gb) = (
        ga.get(x.as_tensor()).unwrap(),
        gb.get(x.as_tensor()).unwrap(),
    );
    let d = (ga - gb)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    assert!(
        d.to_scalar::<f32>().unwrap() < tol,
        "gradients differ by {d}"
    );
}

#[test]
fn fused_layer_norm_matches() {
    let dev = Device::Cpu;
    let w = Tensor::randn(1f32, 0.2, 20, &dev).unwrap();
    let b = Tensor::randn(0f32, 0.2, 20, &dev).unwrap();
    check(
        |x| fused::layer_norm(x, &w, &b, 1e-12).unwrap(),
        |x| ops::layer_norm(x, &w, &b, 1e-12).unwrap(),
        1e-4,
    );
}

#[test]
fn fused_softmax_matches() {
    check(
        |x| fused::softmax(x).unwrap(),
        |x| ops::softmax(x).unwrap(),
        1e-5,
    );
}

#[test]
fn fused_gelu_matches() {
    check(|x| fused::gelu(x).unwrap(), |x| x.gelu_erf().unwrap(), 1e-5);
}
