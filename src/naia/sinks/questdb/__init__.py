"""QuestDB sink: ILP over HTTP, columnar (dataframe) ingestion into point_data."""
