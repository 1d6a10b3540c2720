// ONNX export of tsnas modules: see README.md in this folder.
import './exporters.js';

export { ProtoWriter } from './protobuf.js';
export { OnnxGraphBuilder, ONNX_OPSET, ONNX_IR_VERSION, attr, type Attribute, type TensorData, type ValueInfo } from './model.js';
export {
  exportToOnnx, registerOnnxExporter, hasOnnxExporter, onnxExporter, OnnxExportContext,
  type ModuleClass, type OnnxExport, type OnnxExportOptions, type OnnxExporterEntry, type OnnxModuleExporter, type OnnxValue,
} from './export.js';
export { exportActivation, expectRank, flatten as flattenValue } from './exporters.js';
export { checkOnnxAgainstModule, onnxRuntimeAvailable, type OnnxCheck } from './verify.js';
export { inferClassesAndChannels, loadWeightsInto } from './file.js';
