#ifndef ATTN_ENUMS_TD
#define ATTN_ENUMS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "mlir/IR/EnumAttr.td"

def Attn_FeatureMap : I32EnumAttr<"FeatureMap", "feature map of linear attention", [
    I32EnumAttrCase<"elu_plus_one", 0>,
    I32EnumAttrCase<"relu", 1>,
    I32EnumAttrCase<"identity", 2>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

def Attn_FeatureMapAttr : EnumAttr<Attn_Dialect, Attn_FeatureMap, "feature_map"> {
  let summary = "Feature map φ applied elementwise to q and k by linear attention";
  let description = [{
    `elu_plus_one`: φ(x) = elu(x) + 1 (Katharopoulos et al. 2020; positive, the default);
    `relu`: φ(x) = max(x, 0); `identity`: φ(x) = x.

    Example: `#attn<feature_map relu>`
  }];
}

#endif // ATTN_ENUMS_TD
