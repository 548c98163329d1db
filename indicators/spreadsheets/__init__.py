"""The indicators' sheets (figures, the matrix, targets), registered with the core's spreadsheet
registry by IndicatorsConfig.ready()."""
