package feedback.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code feedback_english}: Lucene's EnglishAnalyzer (possessive 's removed, lower case,
 * English stopwords, Porter stemming: deliveries and delivery both become deliveri).
 */
@NamedComponent("feedback_english")
public final class EnglishAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new EnglishAnalyzer();
    }
}
