// The library Swift programs import: the core types, both backends, and device selection.
@_exported import LoomCore
@_exported import LoomCPU
@_exported import LoomOpenCL
@_exported import LoomData
@_exported import LoomEmbeddings
@_exported import LoomWord2Vec
@_exported import LoomLayers
@_exported import LoomLSTM
@_exported import LoomSeq2Seq
@_exported import LoomImages
@_exported import LoomCaption
@_exported import LoomTSNE
@_exported import LoomPlot
@_exported import LoomTensorBoard
@_exported import LoomMPI
