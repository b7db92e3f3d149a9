//! Domain layer (pure): SG and NACL severity classification, risk score, partition from an ARN.
