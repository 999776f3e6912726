//! A small builder of ONNX graphs: nodes with generated names, initializers
//! and attributes.

use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

use crate::error::{Error, Result};

/// A graph under construction.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    next: usize,
}

/// A dimension of an input or output: fixed or symbolic.
#[derive(Debug, Clone)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A named size (batch, seq).
    Param(&'static str),
}

fn dims_i64(dims: &[usize]) -> Result<Vec<i64>> {
    dims.iter()
        .map(|&d| i64::try_from(d).map_err(|_| Error::Shape(format!("dimension {d} too large"))))
        .collect()
}

/// An int attribute.
pub fn attr_i(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

/// An ints attribute.
pub fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

/// A tensor type with the given element type and dims.
pub fn value_info(name: &str, elem: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(n) => tensor_shape_proto::dimension::Value::DimValue(*n as i64),
                Dim::Param(p) => tensor_shape_proto::dimension::Value::DimParam(p.to_string()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Graph {
    /// Adds a node whose single output gets a fresh name, returned.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.next += 1;
        let out = format!("{op}_{}", self.next);
        self.node_named(op, inputs, attrs, &out);
        out
    }

    /// Adds a node with a given output name.
    pub fn node_named(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>, out: &str) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name: format!("n{}_{op}", self.nodes.len()),
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        });
    }

    /// Adds an f32 initializer.
    pub fn f32s(&mut self, name: &str, dims: &[usize], v: &[f32]) -> Result<String> {
        self.inits.push(TensorProto {
            dims: dims_i64(dims)?,
            data_type: DataType::Float as i32,
            name: name.into(),
            raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
        Ok(name.to_string())
    }

    /// Adds an int64 initializer.
    pub fn i64s(&mut self, name: &str, dims: &[usize], v: &[i64]) -> Result<String> {
        self.inits.push(TensorProto {
            dims: dims_i64(dims)?,
            data_type: DataType::Int64 as i32,
            name: name.into(),
            raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
        Ok(name.to_string())
    }

    /// The finished graph.
    pub fn finish(
        self,
        name: &str,
        input: Vec<ValueInfoProto>,
        output: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.into(),
            initializer: self.inits,
            input,
            output,
            ..Default::default()
        }
    }
}
